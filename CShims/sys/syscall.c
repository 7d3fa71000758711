#include "bt_syscall.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <spawn.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

int bt_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int bt_pidfd_send_signal(int pidfd, int sig) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int bt_pidfd_wait(int pidfd, int *code, int *signal, int nohang) {
    siginfo_t info = {0};
    int rc;
    do {
        rc = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED | (nohang ? WNOHANG : 0));
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) return -1;
    if (info.si_pid == 0) return 1; // WNOHANG and still running
    *code = info.si_code == CLD_EXITED ? info.si_status : 0;
    *signal = (info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED) ? info.si_status : 0;
    return 0;
}

int bt_close_range(unsigned first, unsigned last, int flags) {
    return (int)syscall(SYS_close_range, first, last, flags);
}

int bt_setns(int fd, int nstype) { return setns(fd, nstype); }

int bt_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int bt_pty_open(int *master, int *slave) {
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0) return -1;
    char name[128];
    if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof name) != 0) {
        int e = errno;
        close(m);
        errno = e;
        return -1;
    }
    int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) {
        int e = errno;
        close(m);
        errno = e;
        return -1;
    }
    *master = m;
    *slave = s;
    return 0;
}

const unsigned long bt_terminal_settings_size = sizeof(struct termios);

int bt_terminal_make_raw(int fd, void *saved) {
    struct termios settings;
    if (tcgetattr(fd, &settings) < 0) return -1;
    memcpy(saved, &settings, sizeof settings);
    cfmakeraw(&settings);
    return tcsetattr(fd, TCSANOW, &settings);
}

int bt_terminal_restore(int fd, const void *saved) {
    return tcsetattr(fd, TCSANOW, (const struct termios *)saved);
}

int bt_terminal_copy_size(int from, int to) {
    struct winsize size;
    if (ioctl(from, TIOCGWINSZ, &size) < 0) return -1;
    return ioctl(to, TIOCSWINSZ, &size);
}

int bt_memfd_create(const char *name) { return (int)syscall(SYS_memfd_create, name, MFD_CLOEXEC); }

static void fill_set(sigset_t *set, const int *signals, int count) {
    sigemptyset(set);
    for (int i = 0; i < count; i++) sigaddset(set, signals[i]);
}

int bt_signalfd(const int *signals, int count) {
    sigset_t set;
    fill_set(&set, signals, count);
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

int bt_block_signals(const int *signals, int count, int block) {
    sigset_t set;
    fill_set(&set, signals, count);
    int rc = pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
    if (rc != 0) { errno = rc; return -1; }
    return 0;
}

int bt_signalfd_next(int fd) {
    struct signalfd_siginfo info;
    ssize_t n;
    do { n = read(fd, &info, sizeof info); } while (n < 0 && errno == EINTR);
    if (n < 0) return errno == EAGAIN ? 0 : -1;
    return n == (ssize_t)sizeof info ? (int)info.ssi_signo : 0;
}

int bt_spawn_actions_close_from(void *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np((posix_spawn_file_actions_t *)actions, from);
}

int bt_fs_type(int fd, int64_t *type) {
    struct statfs info;
    if (fstatfs(fd, &info) < 0) return -1;
    *type = (int64_t)info.f_type;
    return 0;
}
