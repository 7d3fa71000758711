// `baton exec`: a program started inside a running sandbox. The clone joins the sandbox's
// namespaces with setns(pidfd); joining a pid namespace only affects children, so it forks
// once more: that grandchild is the program (inside the sandbox's pid namespace), and the
// clone stays outside as a relay that forwards signals and exits with the program's status.
#include "child.h"
#include "bt_syscall.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static _Noreturn void relay(const struct bt_spawn_config *c, pid_t program) {
    sigset_t all;
    sigfillset(&all);
    for (;;) {
        siginfo_t info;
        int sig = sigwaitinfo(&all, &info);
        if (sig < 0) continue;
        if (sig != SIGCHLD) {
            if (bt_child_forwards(c, sig)) kill(program, sig);
            continue;
        }
        int status = 0;
        pid_t pid = waitpid(program, &status, WNOHANG);
        if (pid != program) continue;
        bt_child_exit_like(status);
    }
}

static _Noreturn void child_main(const struct bt_spawn_config *c, int target, int sync_fd, int report_fd) {
    int keep[6] = {sync_fd, report_fd, target, c->stdio_fds[0], c->stdio_fds[1], c->stdio_fds[2]};
    for (int i = 0; i < 3; i++) if (c->stdio_fds[i] < 0) keep[3 + i] = i;
    if (bt_close_all_except(keep, 6) < 0) bt_child_fail(report_fd, BT_STAGE_CLOSE_FDS, 0, errno, 1);
    prctl(PR_SET_NAME, "baton-exec", 0, 0, 0);
    char go = 0;
    ssize_t got;
    do { got = read(sync_fd, &go, 1); } while (got < 0 && errno == EINTR);
    if (got != 1) _exit(1);
    close(sync_fd);

    // One call joins them all, user namespace first where there is one.
    if (bt_setns(target, c->namespaces) < 0) bt_child_fail(report_fd, BT_STAGE_SETNS, 0, errno, 1);
    close(target);
    if ((c->namespaces & CLONE_NEWUSER) && (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0))
        bt_child_fail(report_fd, BT_STAGE_SETUID, 0, errno, 1);
    // setns into the mount namespace put our root and cwd at the sandbox's root.
    if (chdir("/") < 0) bt_child_fail(report_fd, BT_STAGE_WORKDIR, 0, errno, 1);

    pid_t program = bt_child_start_program(c, report_fd, -1, ~0ULL);
    if (program < 0) bt_child_fail(report_fd, BT_STAGE_FORK, 0, errno, 1);
    close(report_fd);
    // The relay keeps nothing of the sandbox's: no capability is needed to signal our child.
    bt_close_all_except(NULL, 0);
    bt_child_drop_bounding(0, ~0ULL, c->last_cap);
    bt_child_set_caps(0, c->last_cap, 0);
    relay(c, program);
}

int bt_spawn_into(const struct bt_spawn_config *config, int target_pidfd, struct bt_spawn_handle *handle) {
    long pid = bt_clone_with_pipes(0, config->cgroup_fd, handle);
    if (pid == 0) child_main(config, target_pidfd, handle->sync_fd, handle->report_fd);
    return pid < 0 ? -1 : 0;
}
