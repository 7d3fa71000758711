// Baton's init, PID 1 of every sandbox: reaps every zombie, forwards signals to the program,
// writes the program's output to the sandbox's log, and exits with the program's status
// (128+N when a signal N killed it). When PID 1 exits the kernel kills whatever else is left
// in the namespace.
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <stdio.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int bt_child_forwards(const struct bt_spawn_config *c, int sig) {
    for (size_t i = 0; i < c->forward_count; i++) if (c->forward_signals[i] == sig) return 1;
    return 0;
}

struct log_state {
    int pipe_fd;
    int file_fd;
    uint64_t size;
};

/// Appends what the program wrote; past the cap, the current file becomes the rotated one.
/// Returns 0 at end of output, 1 while more may come.
static int copy_output(const struct bt_spawn_config *c, struct log_state *log) {
    char buffer[16384];
    ssize_t n = read(log->pipe_fd, buffer, sizeof buffer);
    if (n < 0) return errno == EAGAIN || errno == EINTR ? 1 : 0;
    if (n == 0) return 0;
    if (log->size + (uint64_t)n > c->log_max_bytes && log->size > 0 &&
        renameat(c->log_dir_fd, c->log_name, c->log_dir_fd, c->log_rotated_name) == 0) {
        int fresh = openat(c->log_dir_fd, c->log_name, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fresh >= 0) { close(log->file_fd); log->file_fd = fresh; log->size = 0; }
    }
    // A full disk loses output rather than stalling the program behind a full pipe.
    for (ssize_t done = 0; done < n;) {
        ssize_t w = write(log->file_fd, buffer + done, (size_t)(n - done));
        if (w <= 0) { if (w < 0 && errno == EINTR) continue; break; }
        done += w;
        log->size += (uint64_t)w;
    }
    return 1;
}

_Noreturn void bt_child_exit_like(int status) {
    if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
    _exit(128 + WTERMSIG(status));
}

_Noreturn void bt_child_init_loop(const struct bt_spawn_config *c, pid_t program, int output_pipe, int log_fd,
                                  uint64_t bounding) {
    // Every signal is still blocked from bt_spawn: they queue, and we read them from a
    // signalfd. (Blocked signals reach a namespace's init even without a handler.)
    sigset_t all;
    sigfillset(&all);
    int signals = signalfd(-1, &all, SFD_CLOEXEC);
    struct log_state log = {output_pipe, log_fd, 0};
    struct stat st;
    if (log_fd >= 0 && fstat(log_fd, &st) == 0) log.size = (uint64_t)st.st_size;
    if (output_pipe >= 0) fcntl(output_pipe, F_SETFL, O_NONBLOCK);

    // Init needs nothing but the right to signal the program (which may run as another uid).
    int keep[4] = {signals, output_pipe, log_fd, c->log_dir_fd};
    bt_close_all_except(keep, 4);
    bt_child_drop_bounding(1ULL << CAP_KILL, bounding, c->last_cap);
    bt_child_set_caps(1ULL << CAP_KILL, c->last_cap, 0);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (c->init_seccomp_filter) bt_child_load_seccomp(c->init_seccomp_filter, c->init_seccomp_len);
    else if (c->seccomp_filter) bt_child_load_seccomp(c->seccomp_filter, c->seccomp_len);

    int exited = 0, status = 0;
    for (;;) {
        struct pollfd fds[2] = {{signals, POLLIN, 0}, {log.pipe_fd, POLLIN, 0}};
        int count = log.pipe_fd >= 0 ? 2 : 1;
        if (poll(fds, (nfds_t)count, exited ? 0 : -1) <= 0) {
            // The program is gone and its output is drained (or nobody else still writes).
            if (exited) bt_child_exit_like(status);
            continue;
        }
        if (count == 2 && fds[1].revents) {
            if (!copy_output(c, &log)) { close(log.pipe_fd); log.pipe_fd = -1; }
        }
        if (!(fds[0].revents & POLLIN)) continue;
        struct signalfd_siginfo info;
        if (read(signals, &info, sizeof info) != (ssize_t)sizeof info) continue;
        int sig = (int)info.ssi_signo;
        if (sig != SIGCHLD) {
            if (bt_child_forwards(c, sig) && !exited) kill(program, sig);
            continue;
        }
        for (;;) {
            int child_status = 0;
            pid_t pid = waitpid(-1, &child_status, WNOHANG);
            if (pid <= 0) break;
            if (pid == program) { exited = 1; status = child_status; }
        }
        if (exited && log.pipe_fd < 0) bt_child_exit_like(status);
    }
}
