// Internal to the child path: shared between the init and program halves of the sandbox.
// Everything here runs after clone3 and must stay async-signal-safe: no malloc, no stdio,
// no locks; fixed-size stack buffers and raw syscalls only.
#ifndef BT_CHILD_H
#define BT_CHILD_H

#include "bt_spawn.h"

/// Writes a failure record for the parent and exits with `code`.
_Noreturn void bt_child_fail(int report_fd, int stage, int index, int error, int code);

/// Makes every mount private, then mounts the read-only overlay root on the sandbox directory.
/// Runs with the launcher's file access (in a user namespace, before the child takes the
/// namespace's root id, which cannot traverse Baton's 0700 directories). Returns an O_PATH
/// descriptor of the overlay's root, or -1 with `*stage` set and errno holding the cause.
/// Also clones the source of every BT_MOUNT_BIND op into `trees[i]` (-1 for other ops).
int bt_child_mount_overlay(const struct bt_spawn_config *config, int *trees, int *stage, int *index);

/// Applies the mount plan beneath `rootfd` (binds from `trees`), then pivots into it. Returns
/// 0, or -1 with `*stage`/`*index` set and errno holding the cause.
int bt_child_enter_root(const struct bt_spawn_config *config, int rootfd, const int *trees, int *stage, int *index);

/// Makes `title` the process's command line (/proc/PID/cmdline) in full, or, failing that,
/// as much of it as fits the launcher's argv `area` (NULL: none). `title` must outlive the
/// process: this clone's copy of the launcher's memory does.
void bt_child_set_title(const char *title, char *area, size_t area_len);

/// Brings `lo` up in the sandbox's network namespace.
int bt_child_loopback_up(void);

/// Drops every capability of `present` (what the bounding set may still hold: ~0 when
/// unknown) not in `keep` from the bounding set, and clears the ambient set. Each drop is a
/// new set of credentials, so callers that know say what is left. Needs CAP_SETPCAP, so it
/// runs before any change of uid.
int bt_child_drop_bounding(uint64_t keep, uint64_t present, int last_cap);

/// Sets effective, permitted and inheritable to `keep`; with `raise_ambient`, raises each
/// kept capability in the ambient set so a non-root program keeps it across execve.
int bt_child_set_caps(uint64_t keep, int last_cap, int raise_ambient);

int bt_child_load_seccomp(const struct sock_filter *filter, unsigned short len);

/// The program half: PID 2. `output_fd` >= 0 replaces stdout and stderr; `bounding` is what
/// the caller's bounding set may still hold (see bt_child_drop_bounding). Never returns.
_Noreturn void bt_child_exec_program(const struct bt_spawn_config *config, int report_fd, int output_fd, uint64_t bounding);

/// Starts the program half in a new process (SIGCHLD to us when it ends) and returns its pid
/// once it has exec'd or failed, or -1 with errno.
pid_t bt_child_start_program(const struct bt_spawn_config *config, int report_fd, int output_fd, uint64_t bounding);

/// Whether `sig` is one the sandbox's init (or exec's relay) passes on to the program.
int bt_child_forwards(const struct bt_spawn_config *config, int sig);

/// Exits as the program did: its status, or 128 + the signal that killed it.
_Noreturn void bt_child_exit_like(int status);

/// The init half: PID 1. Reaps, forwards signals, copies the program's output from
/// `output_pipe` (-1: none) to `log_fd`, and exits with the program's status. `bounding`: what
/// its bounding set still holds.
_Noreturn void bt_child_init_loop(const struct bt_spawn_config *config, pid_t program, int output_pipe, int log_fd,
                                  uint64_t bounding);

/// clone3 with `flags` (and CLONE_PIDFD, CLONE_INTO_CGROUP when `cgroup_fd` >= 0), every
/// signal blocked around it, and the sync and report pipes made. Returns 0 in the child
/// (its ends of the pipes in `handle`), the pid in the parent (its ends), -1 on error.
long bt_clone_with_pipes(uint64_t flags, int cgroup_fd, struct bt_spawn_handle *handle);

/// "/proc/self/fd/N" into `buf` (at least 32 bytes).
const char *bt_fd_path(int fd, char *buf);

/// Closes every descriptor except the `count` listed in `keep`.
int bt_close_all_except(const int *keep, int count);

#endif
