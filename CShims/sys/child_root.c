// The sandbox's root: a read-only overlay of the skeleton and the given lower dirs (writable
// into an upper dir for a build's RUN step only) mounted on the sandbox directory (in the
// child's own mount namespace only), the mount plan applied beneath it, then pivot_root.
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define PATH_BUF 4096

/// Opens `path` beneath `rootfd` without following any symlink or magic link and without
/// leaving the root: a root whose /dev is a symlink to /etc cannot redirect a mount.
static int open_beneath(int rootfd, const char *path, int flags, mode_t mode) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW);
    how.mode = (flags & O_CREAT) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

static int append(char *buf, size_t *len, const char *text) {
    size_t n = strlen(text);
    if (*len + n + 1 > PATH_BUF) { errno = ENAMETOOLONG; return -1; }
    memcpy(buf + *len, text, n + 1);
    *len += n;
    return 0;
}

/// The directory last opened for a mkdir, symlink or device node, kept for the next such op
/// in the same directory (the plan has runs of them in dev/). Those ops only add names, so
/// they cannot change what the same path resolves to; any other op (a mount could) forgets it.
struct parent_cache {
    int fd;
    char dir[PATH_BUF];
};

static void forget_parent(struct parent_cache *cache) {
    if (cache->fd >= 0) close(cache->fd);
    cache->fd = -1;
}

/// The parent directory of `target`, opened beneath the root (or taken from `cache` when it
/// holds that very path), with `*name` pointed at the target's last part. The cache owns it.
static int cached_parent(int rootfd, struct parent_cache *cache, const char *target, const char **name) {
    const char *slash = strrchr(target, '/');
    const char *dir = slash ? target : ".";
    size_t n = slash ? (size_t)(slash - target) : 1;
    if (n >= PATH_BUF) { errno = ENAMETOOLONG; return -1; }
    *name = slash ? slash + 1 : target;
    if (cache->fd >= 0 && strlen(cache->dir) == n && memcmp(cache->dir, dir, n) == 0) return cache->fd;
    forget_parent(cache);
    memcpy(cache->dir, dir, n);
    cache->dir[n] = 0;
    cache->fd = open_beneath(rootfd, cache->dir, O_PATH | O_DIRECTORY, 0);
    return cache->fd;
}

/// Opens a host device without following symlinks and checks it is the character device
/// we expect, so a tampered host /dev cannot hand the sandbox something else.
static int open_verified_device(const char *path, uint64_t rdev) {
    int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) < 0) { int e = errno; close(fd); errno = e; return -1; }
    if (!S_ISCHR(st.st_mode) || st.st_rdev != (dev_t)rdev) { close(fd); errno = ENODEV; return -1; }
    return fd;
}

static int bind_fd(int source, int target, unsigned long extra) {
    char from[32], to[32];
    return mount(bt_fd_path(source, from), bt_fd_path(target, to), NULL, MS_BIND | extra, NULL);
}

static int apply_fs(int rootfd, const struct bt_mount_op *op) {
    int target = open_beneath(rootfd, op->target, O_PATH | O_DIRECTORY, 0);
    if (target < 0) return -1;
    char path[32];
    int rc = mount(op->source ? op->source : op->fstype, bt_fd_path(target, path), op->fstype, op->flags, op->data);
    int e = errno;
    close(target);
    errno = e;
    return rc;
}

/// Without a user namespace the sandbox gets device nodes of its own, made with the expected
/// number: nothing of the host's /dev is used or shared (not even an inode's times), and a
/// node costs one call where a verified bind costs six and a mount. In a user namespace,
/// mknod is not permitted, so the host's node is bound.
static int make_device(int rootfd, const struct bt_mount_op *op, struct parent_cache *cache) {
    const char *name;
    int parent = cached_parent(rootfd, cache, op->target, &name);
    if (parent < 0) return -1;
    // Exactly 0666, whatever the launcher's umask: umask applies to mknod's mode.
    mode_t saved = umask(0);
    int rc = mknodat(parent, name, S_IFCHR | 0666, (dev_t)op->rdev);
    int e = errno;
    umask(saved);
    errno = e;
    return rc;
}

static int apply_device(int rootfd, const struct bt_mount_op *op) {
    int source = open_verified_device(op->source, op->rdev);
    if (source < 0) return -1;
    int target = open_beneath(rootfd, op->target, O_CREAT | O_EXCL | O_WRONLY, 0666);
    int rc = target < 0 ? -1 : bind_fd(source, target, 0);
    int e = errno;
    close(source);
    if (target >= 0) close(target);
    errno = e;
    return rc;
}

static int apply_mask(int rootfd, const struct bt_mount_op *op) {
    int target = open_beneath(rootfd, op->target, O_PATH, 0);
    if (target < 0) return errno == ENOENT ? 0 : -1;
    struct stat st;
    int rc = fstat(target, &st);
    if (rc == 0 && S_ISDIR(st.st_mode)) {
        char path[32];
        rc = mount("tmpfs", bt_fd_path(target, path), "tmpfs",
                   MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,nr_inodes=1,mode=0500");
    } else if (rc == 0) {
        int null = open_verified_device(op->source, op->rdev);
        rc = null < 0 ? -1 : bind_fd(null, target, 0);
        int e = errno;
        if (null >= 0) close(null);
        errno = e;
    }
    int e = errno;
    close(target);
    errno = e;
    return rc;
}

/// A detached copy of the mount tree at `source` (every submount with it), each mount of it
/// given `flags` (MS_RDONLY/NOSUID/NODEV/NOEXEC, which share their values with MOUNT_ATTR_*)
/// with AT_RECURSIVE: a tmpfs the host mounted beneath the source is covered too.
static int clone_tree(int source, unsigned long flags) {
    int tree = (int)syscall(SYS_open_tree, source, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
    if (tree < 0) return -1;
    struct mount_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.attr_set = flags & (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
    attr.propagation = MS_PRIVATE;
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0) {
        int e = errno;
        close(tree);
        errno = e;
        return -1;
    }
    return tree;
}

/// Attaches the detached `tree` on `target`.
static int attach(int tree, int target) {
    return (int)syscall(SYS_move_mount, tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

static int apply_readonly(int rootfd, const struct bt_mount_op *op) {
    int target = open_beneath(rootfd, op->target, O_PATH, 0);
    if (target < 0) return errno == ENOENT ? 0 : -1;
    int tree = clone_tree(target, op->flags | MS_RDONLY);
    int rc = tree < 0 ? -1 : attach(tree, target);
    int e = errno;
    if (tree >= 0) close(tree);
    close(target);
    errno = e;
    return rc;
}

/// The host directory of a BT_MOUNT_BIND op, opened with no symlink anywhere on its path (a
/// path that is, or passes through, a link is refused rather than bound from wherever it
/// points) and cloned.
static int clone_bind_source(const struct bt_mount_op *op) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    int source = (int)syscall(SYS_openat2, AT_FDCWD, op->source, &how, sizeof how);
    if (source < 0) return -1;
    int tree = clone_tree(source, op->flags);
    int e = errno;
    close(source);
    errno = e;
    return tree;
}

static int apply_bind(int rootfd, const struct bt_mount_op *op, int tree) {
    int target = open_beneath(rootfd, op->target, O_PATH | O_DIRECTORY, 0);
    int rc = target < 0 ? -1 : attach(tree, target);
    int e = errno;
    if (target >= 0) close(target);
    errno = e;
    return rc;
}

static int apply_at_parent(int rootfd, const struct bt_mount_op *op, struct parent_cache *cache) {
    const char *name;
    int parent = cached_parent(rootfd, cache, op->target, &name);
    if (parent < 0) return -1;
    return op->kind == BT_MOUNT_SYMLINK ? symlinkat(op->source, parent, name) : mkdirat(parent, name, (mode_t)op->flags);
}

static int apply_remount(int rootfd, const struct bt_mount_op *op) {
    int target = open_beneath(rootfd, op->target, O_PATH | O_DIRECTORY, 0);
    if (target < 0) return -1;
    char path[32];
    int rc = mount(NULL, bt_fd_path(target, path), NULL, MS_REMOUNT | MS_RDONLY | op->flags, NULL);
    int e = errno;
    close(target);
    errno = e;
    return rc;
}

static int apply(int rootfd, const struct bt_mount_op *op, int tree, int own_nodes, struct parent_cache *cache) {
    int adds_a_name = op->kind == BT_MOUNT_SYMLINK || op->kind == BT_MOUNT_MKDIR || (op->kind == BT_MOUNT_DEVICE && own_nodes);
    if (!adds_a_name) forget_parent(cache);
    switch (op->kind) {
    case BT_MOUNT_FS: return apply_fs(rootfd, op);
    case BT_MOUNT_DEVICE: return own_nodes ? make_device(rootfd, op, cache) : apply_device(rootfd, op);
    case BT_MOUNT_MASK: return apply_mask(rootfd, op);
    case BT_MOUNT_READONLY: return apply_readonly(rootfd, op);
    case BT_MOUNT_SYMLINK:
    case BT_MOUNT_MKDIR: return apply_at_parent(rootfd, op, cache);
    case BT_MOUNT_REMOUNT_RO: return apply_remount(rootfd, op);
    case BT_MOUNT_BIND: return apply_bind(rootfd, op, tree);
    default: errno = EINVAL; return -1;
    }
}

#define FAIL(s, i) do { *stage = (s); *index = (i); return -1; } while (0)

int bt_child_mount_overlay(const struct bt_spawn_config *config, int *trees, int *stage, int *index) {
    // Nothing we mount may propagate back to the host, and nothing the host later mounts
    // or unmounts reaches in.
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) { *stage = BT_STAGE_MOUNT_PRIVATE; return -1; }
    for (size_t i = 0; i < config->mount_count; i++) trees[i] = -1;
    for (size_t i = 0; i < config->mount_count; i++) {
        if (config->mounts[i].kind != BT_MOUNT_BIND) continue;
        trees[i] = clone_bind_source(&config->mounts[i]);
        if (trees[i] < 0) { *stage = BT_STAGE_MOUNT_OP; *index = (int)i; return -1; }
    }

    // The sandbox directory is reached through its parent's descriptor: once the overlay is
    // mounted on it, opening the name again from the parent gives the overlay's root.
    const char *slash = strrchr(config->sandbox_dir, '/');
    char parent_path[PATH_BUF];
    size_t n = slash ? (size_t)(slash - config->sandbox_dir) : 0;
    if (!slash || n == 0 || n >= sizeof parent_path) { errno = EINVAL; *stage = BT_STAGE_SANDBOX_DIR; return -1; }
    memcpy(parent_path, config->sandbox_dir, n);
    parent_path[n] = 0;
    const char *name = slash + 1;
    int parent = open(parent_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (parent < 0) { *stage = BT_STAGE_SANDBOX_DIR; return -1; }
    int mount_point = openat(parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (mount_point < 0) { int e = errno; close(parent); errno = e; *stage = BT_STAGE_SANDBOX_DIR; return -1; }

    char options[PATH_BUF], at[32];
    size_t options_len = 0;
    if (append(options, &options_len, "lowerdir=") < 0 || append(options, &options_len, config->skeleton) < 0 ||
        append(options, &options_len, ":") < 0 || append(options, &options_len, config->lowerdirs) < 0 ||
        (config->upper_dir && (append(options, &options_len, ",upperdir=") < 0 ||
                               append(options, &options_len, config->upper_dir) < 0 ||
                               append(options, &options_len, ",workdir=") < 0 ||
                               append(options, &options_len, config->work_dir) < 0 ||
                               // Every change must be a plain copy-up in the upper dir: it becomes a layer.
                               append(options, &options_len, ",redirect_dir=off,metacopy=off") < 0)) ||
        (config->lower_base && chdir(config->lower_base) < 0) ||
        mount("overlay", bt_fd_path(mount_point, at), "overlay",
              (config->upper_dir ? 0 : MS_RDONLY) | MS_NOSUID | MS_NODEV, options) < 0) {
        int e = errno;
        close(mount_point);
        close(parent);
        errno = e;
        *stage = BT_STAGE_OVERLAY;
        return -1;
    }
    close(mount_point);
    int rootfd = openat(parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(parent);
    errno = e;
    if (rootfd < 0) *stage = BT_STAGE_OVERLAY;
    return rootfd;
}

int bt_child_enter_root(const struct bt_spawn_config *config, int rootfd, const int *trees, int *stage, int *index) {
    int own_nodes = !(config->namespaces & CLONE_NEWUSER);
    struct parent_cache parents = {.fd = -1};
    for (size_t i = 0; i < config->mount_count; i++) {
        if (apply(rootfd, &config->mounts[i], trees[i], own_nodes, &parents) < 0) FAIL(BT_STAGE_MOUNT_OP, (int)i);
        if (trees[i] >= 0) close(trees[i]);
    }
    forget_parent(&parents);

    // pivot_root(".", ".") stacks the old root on the new one; detaching "." then drops
    // the old root and, with it, every host path.
    if (fchdir(rootfd) < 0) FAIL(BT_STAGE_PIVOT_ROOT, 0);
    if (syscall(SYS_pivot_root, ".", ".") < 0) FAIL(BT_STAGE_PIVOT_ROOT, 0);
    if (umount2(".", MNT_DETACH) < 0) FAIL(BT_STAGE_PIVOT_ROOT, 1);
    if (chdir("/") < 0) FAIL(BT_STAGE_PIVOT_ROOT, 2);
    return 0;
}
