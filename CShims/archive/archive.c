#include "bt_archive.h"

struct archive *bt_tar_reader_new(void) {
    struct archive *a = archive_read_new();
    if (a == NULL) return NULL;
    archive_read_support_format_tar(a);
    archive_read_support_filter_all(a);
    return a;
}

struct archive *bt_tar_writer_new(void) {
    struct archive *a = archive_write_new();
    if (a == NULL) return NULL;
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_add_filter_none(a) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(a, 256 * 1024) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK) {
        archive_write_free(a);
        return NULL;
    }
    return a;
}

int bt_entry_kind(struct archive_entry *entry) {
    if (archive_entry_hardlink(entry) != NULL) return BT_ENTRY_HARDLINK;
    switch (archive_entry_filetype(entry)) {
    case AE_IFREG: return BT_ENTRY_FILE;
    case AE_IFDIR: return BT_ENTRY_DIRECTORY;
    case AE_IFLNK: return BT_ENTRY_SYMLINK;
    case AE_IFCHR: return BT_ENTRY_CHAR_DEVICE;
    case AE_IFBLK: return BT_ENTRY_BLOCK_DEVICE;
    case AE_IFIFO: return BT_ENTRY_FIFO;
    case AE_IFSOCK: return BT_ENTRY_SOCKET;
    default: return BT_ENTRY_OTHER;
    }
}

void bt_entry_set_kind(struct archive_entry *entry, int kind) {
    switch (kind) {
    case BT_ENTRY_DIRECTORY: archive_entry_set_filetype(entry, AE_IFDIR); break;
    case BT_ENTRY_SYMLINK: archive_entry_set_filetype(entry, AE_IFLNK); break;
    case BT_ENTRY_CHAR_DEVICE: archive_entry_set_filetype(entry, AE_IFCHR); break;
    case BT_ENTRY_BLOCK_DEVICE: archive_entry_set_filetype(entry, AE_IFBLK); break;
    case BT_ENTRY_FIFO: archive_entry_set_filetype(entry, AE_IFIFO); break;
    default: archive_entry_set_filetype(entry, AE_IFREG); break;
    }
}

int bt_entry_permissions(struct archive_entry *entry) {
    return (int)(archive_entry_perm(entry) & 07777);
}

#include <string.h>
#include <sys/xattr.h>
#include "bt_xattr.h"

int bt_fsetxattr_string(int fd, const char *name, const char *value) {
    return fsetxattr(fd, name, value, strlen(value), 0);
}

ssize_t bt_lgetxattr(const char *path, const char *name, char *buffer, size_t size) {
    return lgetxattr(path, name, buffer, size);
}
