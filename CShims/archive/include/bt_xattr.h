#ifndef BT_XATTR_H
#define BT_XATTR_H
#include <sys/types.h>
// Swift's Glibc module does not export <sys/xattr.h>.

/// fsetxattr(fd, name, value, strlen(value), 0): -1 with errno on failure. The unpacker turns an
/// OCI opaque whiteout into trusted.overlay.opaque=y with it.
int bt_fsetxattr_string(int fd, const char *name, const char *value);

/// lgetxattr(path, name, buffer, size): the value's length, or -1 with errno.
ssize_t bt_lgetxattr(const char *path, const char *name, char *buffer, size_t size);
#endif
