#ifndef BT_ARCHIVE_H
#define BT_ARCHIVE_H
// libarchive, configured the way Baton reads and writes tar streams. No policy: which entries
// are acceptable is decided in Swift (BatonStore/LayerUnpacker.swift).
#include <archive.h>
#include <archive_entry.h>
#include <sys/types.h>
#include "bt_xattr.h"

/// What a tar entry is. Hard links are told apart from regular files by their link target.
enum bt_entry_kind {
    BT_ENTRY_FILE = 1,
    BT_ENTRY_DIRECTORY = 2,
    BT_ENTRY_SYMLINK = 3,
    BT_ENTRY_HARDLINK = 4,
    BT_ENTRY_CHAR_DEVICE = 5,
    BT_ENTRY_BLOCK_DEVICE = 6,
    BT_ENTRY_FIFO = 7,
    BT_ENTRY_SOCKET = 8,
    BT_ENTRY_OTHER = 9,
};

/// NULL once libarchive (loaded on first use) is there; otherwise why it could not be loaded.
/// Check before the first libarchive call: a missing library is then an error to report, not
/// a crash.
const char *bt_archive_load_error(void);

/// A reader for tar streams (ustar, pax, GNU), uncompressed or through any filter libarchive
/// knows (gzip, zstd, …). NULL on allocation failure.
struct archive *bt_tar_reader_new(void);

/// A writer for a deterministic tar stream: pax-restricted (ustar, with pax headers only for
/// what ustar cannot hold), 256 KiB blocks, the last block not padded beyond 512-byte records.
struct archive *bt_tar_writer_new(void);

int bt_entry_kind(struct archive_entry *entry);

/// Sets the entry's file type from a bt_entry_kind (hard links are set with
/// archive_entry_copy_hardlink on a BT_ENTRY_FILE).
void bt_entry_set_kind(struct archive_entry *entry, int kind);

/// Permission bits (07777) of an entry.
int bt_entry_permissions(struct archive_entry *entry);

#endif
