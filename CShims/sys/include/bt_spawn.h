// The post-clone child path: everything from clone3 to execve runs here, in C, using only
// async-signal-safe calls and raw syscalls (DESIGN.md invariant 1). The parent prepares every
// byte the child reads (paths, argv, envp, the seccomp BPF, capability sets, the mount plan);
// the child reports failure over a close-on-exec pipe as a (stage, index, errno) record.
#ifndef BT_SPAWN_H
#define BT_SPAWN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/filter.h>

/// One step of the mount plan, applied beneath the new root before pivot_root.
/// Targets are relative to the new root and are resolved without following any symlink.
enum bt_mount_kind {
    /// A new filesystem instance: mount(fstype, target, fstype, flags, data).
    BT_MOUNT_FS = 1,
    /// The character device `rdev` at `target`: a node made with mknod (mode 0666), or, in a
    /// user namespace (no mknod there), the host device `source` bound onto a new empty file;
    /// the source must be a character device whose number is `rdev`, and is opened without
    /// following symlinks.
    BT_MOUNT_DEVICE = 2,
    /// Hide `target`: the verified /dev/null over a file, an empty read-only tmpfs over a
    /// directory. An absent target is skipped.
    BT_MOUNT_MASK = 3,
    /// Bind `target` onto itself, with every mount beneath it, all read-only and with `flags`
    /// added. An absent target is skipped.
    BT_MOUNT_READONLY = 4,
    /// Create the symlink `target` pointing at `source`.
    BT_MOUNT_SYMLINK = 5,
    /// Create the directory `target` with mode `flags`.
    BT_MOUNT_MKDIR = 6,
    /// Remount the filesystem at `target` read-only, keeping `flags`.
    BT_MOUNT_REMOUNT_RO = 7,
    /// Bind the host directory `source` (no symlink anywhere on its path) onto the directory
    /// `target`, with every mount beneath it, each given `flags` (MS_RDONLY, MS_NOSUID, …).
    /// The source is opened and cloned before a user-namespaced child takes the namespace's
    /// root id, so it may lie under Baton's 0700 root (an app's volume).
    BT_MOUNT_BIND = 8,
};

struct bt_mount_op {
    int kind;
    const char *source;
    const char *target;
    const char *fstype;
    unsigned long flags;
    const char *data;
    uint64_t rdev;
};

struct bt_rlimit {
    int resource;
    uint64_t soft;
    uint64_t hard;
};

/// Where setup failed. The Swift side names each stage for the user.
enum bt_stage {
    BT_STAGE_CLONE = 1,
    BT_STAGE_SYNC,
    BT_STAGE_CLOSE_FDS,
    BT_STAGE_PDEATHSIG,
    BT_STAGE_CGROUP_NS,
    BT_STAGE_MOUNT_PRIVATE,
    BT_STAGE_SANDBOX_DIR,
    BT_STAGE_OVERLAY,
    BT_STAGE_MOUNT_OP,      // index = the op
    BT_STAGE_PIVOT_ROOT,
    BT_STAGE_HOSTNAME,
    BT_STAGE_LOOPBACK,
    BT_STAGE_NETWORK,
    BT_STAGE_DUMPABLE,
    BT_STAGE_FORK,
    BT_STAGE_STDIO,
    BT_STAGE_SETSID,
    BT_STAGE_WORKDIR,
    BT_STAGE_RLIMIT,        // index = the rlimit
    BT_STAGE_SETGROUPS,
    BT_STAGE_SETGID,
    BT_STAGE_SETUID,
    BT_STAGE_CAPABILITIES,
    BT_STAGE_NO_NEW_PRIVS,
    BT_STAGE_SECCOMP,
    BT_STAGE_EXEC,
    BT_STAGE_INIT,
    BT_STAGE_LOG,
    BT_STAGE_SETNS,
};

struct bt_spawn_report {
    int32_t stage;
    int32_t index;
    int32_t error;
};

struct bt_spawn_config {
    /// CLONE_NEW* flags. CLONE_NEWCGROUP is applied by the child with unshare once the
    /// parent has placed it in its cgroup, so that the namespace is rooted there.
    int namespaces;
    /// When set, the sandbox is SIGKILLed when the thread that spawned it exits.
    int die_with_parent;
    /// A cgroup v2 directory fd for CLONE_INTO_CGROUP, or -1.
    int cgroup_fd;
    /// Build the root, hostname and loopback before waiting for the go byte, in parallel
    /// with the parent's own steps (never with CLONE_NEWUSER: the root needs the id maps).
    /// A failure is still reported only once the go byte (or EOF) arrives.
    int setup_before_release;

    /// The sandbox's directory (absolute): the child mounts the overlay root on it, in its own
    /// mount namespace only.
    const char *sandbox_dir;
    /// The skeleton layer (absolute) that sits on top of every root, so that mount targets
    /// are always our directories and never the root's symlinks.
    const char *skeleton;
    /// Overlay lower dirs, top first, ':'-separated. Relative entries are relative to
    /// `lower_base` (short names keep the option string under the kernel's page limit).
    const char *lowerdirs;
    const char *lower_base;
    /// A writable root (`baton build`'s RUN steps): the overlay's upper and work dirs
    /// (absolute, on one file system). NULL: the root is mounted read-only.
    const char *upper_dir;
    const char *work_dir;

    const struct bt_mount_op *mounts;
    size_t mount_count;

    const char *hostname;   // NULL: leave as is
    int loopback_up;
    /// The sandbox's end of its veth pair (created by the parent in the sandbox's network
    /// namespace), to configure: address/prefix, up, default route through `net_gateway`
    /// (network byte order). NULL: only loopback.
    const char *net_interface;
    uint32_t net_address;
    int net_prefix;
    uint32_t net_gateway;
    uint32_t net_route_mtu;

    /// The program. argv[0] without '/' is searched in `search_path` inside the root.
    const char *const *argv;
    const char *const *envp;
    const char *search_path;
    const char *workdir;    // absolute, resolved inside the root

    int stdio_fds[3];       // -1: inherit the caller's
    /// stdin is a terminal (a pty Baton owns): make it the program's controlling terminal.
    int controlling_tty;

    /// When >= 0: the program's stdout and stderr go through a pipe to init, which appends
    /// them to `log_name` in this directory and, past `log_max_bytes`, renames the file to
    /// `log_rotated_name` and starts a new one. The sandbox writes its own log, so the log
    /// outlives whoever launched it.
    int log_dir_fd;
    const char *log_name;
    const char *log_rotated_name;
    uint64_t log_max_bytes;

    int set_ids;
    uid_t uid;
    gid_t gid;
    int clear_groups;       // setgroups(0, NULL) when ids are set (not possible in a userns)

    uint64_t keep_caps;     // bit N keeps capability N
    int last_cap;

    const struct sock_filter *seccomp_filter;  // NULL: unconfined
    unsigned short seccomp_len;
    /// Init's own, smaller filter, loaded once it has forked the program (NULL: seccomp_filter).
    const struct sock_filter *init_seccomp_filter;
    unsigned short init_seccomp_len;

    const struct bt_rlimit *rlimits;
    size_t rlimit_count;

    /// Init's command line, `init_title`, so `ps` and `pkill -f` never mistake a sandbox for
    /// the process that launched it (NULL: the launcher's, as cloned). `argv_area` is the
    /// launcher's argv (contiguous NUL-separated strings), which the clone has a copy of:
    /// blanked, or holding as much of the title as fits where the kernel cannot point
    /// /proc/PID/cmdline elsewhere (CShims child_title.c).
    char *argv_area;
    size_t argv_area_len;
    const char *init_title;

    /// Signals init forwards to the program.
    const int *forward_signals;
    size_t forward_count;
};

struct bt_spawn_handle {
    pid_t pid;
    int pidfd;
    int sync_fd;    // parent's end: bt_spawn_release writes the go byte
    int report_fd;  // parent's end of the (stage, errno) pipe
    /// bt_spawn moved the child off the parent's CPU: bt_spawn_release puts it back on `cpus`
    /// (the parent's cpu_set_t, as bytes: the type needs _GNU_SOURCE) before the go byte.
    int restore_cpus;
    unsigned char cpus[128];
};

/// Clones the sandbox's init. The child waits until `bt_spawn_release` (after the parent
/// has placed it in cgroups and written id maps) or exits if the sync fd is closed.
int bt_spawn(const struct bt_spawn_config *config, struct bt_spawn_handle *handle);

/// Starts a program inside the running sandbox whose init `target_pidfd` refers to: the same
/// namespaces (and so the same root), then the program half of `config` (stdio, session,
/// working directory, descriptors, rlimits, identity, capabilities, no_new_privs, seccomp).
/// Only the program fields of `config` and `namespaces` (which namespaces to join) are read.
/// The returned process relays signals to the program and exits with its status; release
/// and wait for exec as with bt_spawn.
int bt_spawn_into(const struct bt_spawn_config *config, int target_pidfd, struct bt_spawn_handle *handle);

/// Lets the child go on with setup; closes the sync fd.
int bt_spawn_release(struct bt_spawn_handle *handle);

/// Waits until the program has exec'd (returns 0) or setup failed (returns 1, report filled).
/// Closes the report fd.
int bt_spawn_wait_exec(struct bt_spawn_handle *handle, struct bt_spawn_report *report);

#endif
