// Raw system calls and constants that Swift cannot reach through Glibc.
// Every function returns -1 with errno set on failure, like the syscall it wraps.
#ifndef BT_SYSCALL_H
#define BT_SYSCALL_H

#include <stdint.h>
#include <sys/types.h>
#include <signal.h>

int bt_pidfd_open(pid_t pid);
int bt_pidfd_send_signal(int pidfd, int sig);
/// Waits for the process behind `pidfd` to exit. On return 0, `*signal` is the signal that
/// killed it (0 if it exited) and `*code` its exit code. With `nohang`, returns 1 while it runs.
int bt_pidfd_wait(int pidfd, int *code, int *signal, int nohang);
int bt_close_range(unsigned first, unsigned last, int flags);
/// posix_spawn_file_actions_addclosefrom_np (glibc 2.34), which Swift's Glibc does not export:
/// the child closes every descriptor from `from` on. Returns 0 or an errno value, as posix_spawn does.
int bt_spawn_actions_close_from(void *actions, int from);
int bt_setns(int fd, int nstype);
/// A pipe whose both ends are close-on-exec from the start (no window for another thread's
/// fork to inherit them).
int bt_pipe_cloexec(int fds[2]);
/// A new pseudo-terminal from the host's /dev/ptmx: both ends close-on-exec, the slave not
/// made anyone's controlling terminal here.
int bt_pty_open(int *master, int *slave);
/// Puts the terminal `fd` in raw mode (no echo, no line editing, no signals from keys: all of
/// it happens in the pty's own line discipline) and saves its settings into `saved` (a buffer
/// of bt_terminal_settings_size bytes).
int bt_terminal_make_raw(int fd, void *saved);
int bt_terminal_restore(int fd, const void *saved);
extern const unsigned long bt_terminal_settings_size;
/// Copies the window size of terminal `from` to terminal `to`.
int bt_terminal_copy_size(int from, int to);
/// A close-on-exec memfd.
int bt_memfd_create(const char *name);
/// A non-blocking close-on-exec signalfd for `signals`.
int bt_signalfd(const int *signals, int count);
/// The next signal queued on a signalfd, 0 when none is left, -1 on error.
int bt_signalfd_next(int fd);
int bt_block_signals(const int *signals, int count, int block);
/// fstatfs's f_type: the magic number of the file system `fd` is on (statfs(2)), which
/// Swift's Glibc does not export.
int bt_fs_type(int fd, int64_t *type);

#endif
