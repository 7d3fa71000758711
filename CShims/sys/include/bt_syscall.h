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
int bt_setns(int fd, int nstype);
/// A close-on-exec memfd.
int bt_memfd_create(const char *name);
/// A non-blocking close-on-exec signalfd for `signals`.
int bt_signalfd(const int *signals, int count);
/// The next signal queued on a signalfd, 0 when none is left, -1 on error.
int bt_signalfd_next(int fd);
int bt_block_signals(const int *signals, int count, int block);

/// Namespace flags for SandboxSpec, as clone(2) spells them.
static const int BT_CLONE_NEWNS = 0x00020000;
static const int BT_CLONE_NEWCGROUP = 0x02000000;
static const int BT_CLONE_NEWUTS = 0x04000000;
static const int BT_CLONE_NEWIPC = 0x08000000;
static const int BT_CLONE_NEWUSER = 0x10000000;
static const int BT_CLONE_NEWPID = 0x20000000;
static const int BT_CLONE_NEWNET = 0x40000000;

/// Mount flags the mount plan uses.
static const unsigned long BT_MS_RDONLY = 1;
static const unsigned long BT_MS_NOSUID = 2;
static const unsigned long BT_MS_NODEV = 4;
static const unsigned long BT_MS_NOEXEC = 8;

#endif
