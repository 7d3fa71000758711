// libarchive is loaded on first use rather than at program start: through libxml2 it pulls in
// ICU and a dozen other libraries whose relocation would cost every `baton` invocation about
// a millisecond — `baton run` included, which never touches a tar. Each libarchive function
// Baton (and its tests) use is defined here under its own name and forwards to the real one;
// a function newly used needs a line here.
#include <archive.h>
#include <archive_entry.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *library;
static char load_error[512];
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void) {
    library = dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);
    if (!library) snprintf(load_error, sizeof load_error, "%s", dlerror());
}

const char *bt_archive_load_error(void) {
    pthread_once(&load_once, load);
    return library ? NULL : load_error;
}

static void *bt_archive_symbol(const char *name) {
    pthread_once(&load_once, load);
    void *symbol = library ? dlsym(library, name) : NULL;
    if (!symbol) {
        // Callers check bt_archive_load_error() before their first libarchive call, and every
        // libarchive.so.13 has these functions: reaching here is a bug in Baton, not input.
        fprintf(stderr, "baton: internal error: %s missing from libarchive.so.13\n", name);
        abort();
    }
    return symbol;
}

#define BT_FORWARD(ret, name, params, args) \
    ret name params { return ((ret(*) params)bt_archive_symbol(#name)) args; }
#define BT_FORWARD_VOID(name, params, args) \
    void name params { ((void(*) params)bt_archive_symbol(#name)) args; }

BT_FORWARD(struct archive_entry *, archive_entry_clear, (struct archive_entry *a0), (a0))
BT_FORWARD_VOID(archive_entry_copy_hardlink, (struct archive_entry *a0, const char *a1), (a0, a1))
BT_FORWARD_VOID(archive_entry_copy_pathname, (struct archive_entry *a0, const char *a1), (a0, a1))
BT_FORWARD_VOID(archive_entry_copy_symlink, (struct archive_entry *a0, const char *a1), (a0, a1))
BT_FORWARD(__LA_MODE_T, archive_entry_filetype, (struct archive_entry *a0), (a0))
BT_FORWARD_VOID(archive_entry_free, (struct archive_entry *a0), (a0))
BT_FORWARD(la_int64_t, archive_entry_gid, (struct archive_entry *a0), (a0))
BT_FORWARD(const char *, archive_entry_hardlink, (struct archive_entry *a0), (a0))
BT_FORWARD(const char *, archive_entry_hardlink_utf8, (struct archive_entry *a0), (a0))
BT_FORWARD(time_t, archive_entry_mtime, (struct archive_entry *a0), (a0))
BT_FORWARD(struct archive_entry *, archive_entry_new, (void), ())
BT_FORWARD(const char *, archive_entry_pathname, (struct archive_entry *a0), (a0))
BT_FORWARD(const char *, archive_entry_pathname_utf8, (struct archive_entry *a0), (a0))
BT_FORWARD(__LA_MODE_T, archive_entry_perm, (struct archive_entry *a0), (a0))
BT_FORWARD_VOID(archive_entry_set_filetype, (struct archive_entry *a0, unsigned int a1), (a0, a1))
BT_FORWARD_VOID(archive_entry_set_gid, (struct archive_entry *a0, la_int64_t a1), (a0, a1))
BT_FORWARD_VOID(archive_entry_set_mtime, (struct archive_entry *a0, time_t a1, long a2), (a0, a1, a2))
BT_FORWARD_VOID(archive_entry_set_perm, (struct archive_entry *a0, __LA_MODE_T a1), (a0, a1))
BT_FORWARD_VOID(archive_entry_set_rdevmajor, (struct archive_entry *a0, dev_t a1), (a0, a1))
BT_FORWARD_VOID(archive_entry_set_rdevminor, (struct archive_entry *a0, dev_t a1), (a0, a1))
BT_FORWARD_VOID(archive_entry_set_size, (struct archive_entry *a0, la_int64_t a1), (a0, a1))
BT_FORWARD_VOID(archive_entry_set_uid, (struct archive_entry *a0, la_int64_t a1), (a0, a1))
BT_FORWARD(la_int64_t, archive_entry_size, (struct archive_entry *a0), (a0))
BT_FORWARD(const char *, archive_entry_symlink, (struct archive_entry *a0), (a0))
BT_FORWARD(const char *, archive_entry_symlink_utf8, (struct archive_entry *a0), (a0))
BT_FORWARD(la_int64_t, archive_entry_uid, (struct archive_entry *a0), (a0))
BT_FORWARD(const char *, archive_error_string, (struct archive *a0), (a0))
BT_FORWARD(int, archive_read_data_block, (struct archive *a0, const void **a1, size_t *a2, la_int64_t *a3), (a0, a1, a2, a3))
BT_FORWARD(int, archive_read_free, (struct archive *a0), (a0))
BT_FORWARD(struct archive *, archive_read_new, (void), ())
BT_FORWARD(int, archive_read_next_header, (struct archive *a0, struct archive_entry **a1), (a0, a1))
BT_FORWARD(int, archive_read_open2, (struct archive *a0, void *a1, archive_open_callback *a2, archive_read_callback *a3, archive_skip_callback *a4, archive_close_callback *a5), (a0, a1, a2, a3, a4, a5))
BT_FORWARD(int, archive_read_support_filter_all, (struct archive *a0), (a0))
BT_FORWARD(int, archive_read_support_format_tar, (struct archive *a0), (a0))
BT_FORWARD(int, archive_write_add_filter_gzip, (struct archive *a0), (a0))
BT_FORWARD(int, archive_write_add_filter_none, (struct archive *a0), (a0))
BT_FORWARD(int, archive_write_close, (struct archive *a0), (a0))
BT_FORWARD(la_ssize_t, archive_write_data, (struct archive *a0, const void *a1, size_t a2), (a0, a1, a2))
BT_FORWARD(int, archive_write_free, (struct archive *a0), (a0))
BT_FORWARD(int, archive_write_header, (struct archive *a0, struct archive_entry *a1), (a0, a1))
BT_FORWARD(struct archive *, archive_write_new, (void), ())
BT_FORWARD(int, archive_write_open2, (struct archive *a0, void *a1, archive_open_callback *a2, archive_write_callback *a3, archive_close_callback *a4, archive_free_callback *a5), (a0, a1, a2, a3, a4, a5))
BT_FORWARD(int, archive_write_open_filename, (struct archive *a0, const char *a1), (a0, a1))
BT_FORWARD(int, archive_write_set_bytes_in_last_block, (struct archive *a0, int a1), (a0, a1))
BT_FORWARD(int, archive_write_set_bytes_per_block, (struct archive *a0, int a1), (a0, a1))
BT_FORWARD(int, archive_write_set_format_pax_restricted, (struct archive *a0), (a0))
