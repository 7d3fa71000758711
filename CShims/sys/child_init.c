// Baton's init, PID 1 of every sandbox: reaps every zombie, forwards signals to the program,
// and exits with the program's status (128+N when a signal N killed it). When PID 1 exits
// the kernel kills whatever else is left in the namespace.
#include "child.h"

#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int forwards(const struct bt_spawn_config *c, int sig) {
    for (size_t i = 0; i < c->forward_count; i++) if (c->forward_signals[i] == sig) return 1;
    return 0;
}

_Noreturn void bt_child_init_loop(const struct bt_spawn_config *c, pid_t program) {
    // Init needs nothing but the right to signal the program (which may run as another uid).
    bt_close_all_except(NULL, 0);
    bt_child_drop_bounding(1ULL << CAP_KILL, c->last_cap);
    bt_child_set_caps(1ULL << CAP_KILL, c->last_cap, 0);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (c->seccomp_filter) bt_child_load_seccomp(c->seccomp_filter, c->seccomp_len);

    // Every signal is still blocked from bt_spawn: they queue, and we take them one by one.
    // (Blocked signals reach a namespace's init even without a handler.)
    sigset_t all;
    sigfillset(&all);
    for (;;) {
        siginfo_t info;
        int sig = sigwaitinfo(&all, &info);
        if (sig < 0) continue;
        if (sig != SIGCHLD) {
            if (forwards(c, sig)) kill(program, sig);
            continue;
        }
        for (;;) {
            int status = 0;
            pid_t pid = waitpid(-1, &status, WNOHANG);
            if (pid <= 0) break;
            if (pid != program) continue;
            if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
            _exit(128 + WTERMSIG(status));
        }
    }
}
