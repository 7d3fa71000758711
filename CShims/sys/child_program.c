// The program half of the sandbox (PID 2): stdio, session, working directory, descriptors,
// limits, identity, capabilities, no_new_privs, seccomp, then execve.
#include "child.h"
#include "bt_syscall.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <linux/openat2.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void reset_signals(void) {
    // Ignored dispositions survive execve (the caller may ignore SIGPIPE): start clean.
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        sigaction(sig, &dfl, NULL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static int install_stdio(const int fds[3]) {
    int moved[3];
    // Lift sources out of 0..2 first so one dup2 cannot clobber another's source.
    for (int i = 0; i < 3; i++) {
        moved[i] = fds[i];
        if (fds[i] >= 0 && fds[i] < 3) {
            moved[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
            if (moved[i] < 0) return -1;
        }
    }
    for (int i = 0; i < 3; i++) {
        if (moved[i] >= 0 && dup2(moved[i], i) < 0) return -1;
    }
    return 0;
}

/// Enters the working directory without leaving the root: no symlink may point outside it
/// and no magic link (/proc/self/fd/N, /proc/1/cwd) is followed.
static int enter_workdir(const char *workdir) {
    int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) return -1;
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    int dir = (int)syscall(SYS_openat2, root, workdir, &how, sizeof how);
    int e = errno;
    close(root);
    if (dir < 0) { errno = e; return -1; }
    int rc = fchdir(dir);
    e = errno;
    close(dir);
    if (rc < 0) { errno = e; return -1; }
    // The kernel spells a directory outside our root "(unreachable)/…"; only "/…" is inside.
    char cwd[4096];
    long n = syscall(SYS_getcwd, cwd, sizeof cwd);
    if (n < 0) return -1;
    if (cwd[0] != '/') { errno = EXDEV; return -1; }
    return 0;
}

/// Raw syscalls, not glibc's wrappers: in a child cloned from a multithreaded process, glibc's
/// setxid broadcast waits for threads that only exist in the parent, and can hang forever.
static int set_identity(const struct bt_spawn_config *c, int *stage) {
    if (c->clear_groups) {
        *stage = BT_STAGE_SETGROUPS;
        if (syscall(SYS_setgroups, 0, NULL) < 0) return -1;
    }
    if (!c->set_ids) return 0;
    *stage = BT_STAGE_SETGID;
    if (syscall(SYS_setresgid, c->gid, c->gid, c->gid) < 0) return -1;
    *stage = BT_STAGE_SETUID;
    if (c->keep_caps && c->uid != 0 && prctl(PR_SET_KEEPCAPS, 1) < 0) return -1;
    if (syscall(SYS_setresuid, c->uid, c->uid, c->uid) < 0) return -1;
    return 0;
}

static _Noreturn void exec_searching(const struct bt_spawn_config *c, int report_fd) {
    const char *program = c->argv[0];
    char *const *argv = (char *const *)c->argv;
    char *const *envp = (char *const *)c->envp;
    if (strchr(program, '/')) {
        execve(program, argv, envp);
        bt_child_fail(report_fd, BT_STAGE_EXEC, 0, errno, errno == ENOENT ? 127 : 126);
    }
    // Like execvp: the first runnable match wins; EACCES is remembered but does not stop the search.
    int saw_eacces = 0, last = ENOENT;
    size_t plen = strlen(program);
    for (const char *dir = c->search_path; dir && *dir;) {
        const char *end = strchr(dir, ':');
        size_t dlen = end ? (size_t)(end - dir) : strlen(dir);
        char path[4096];
        if (dlen > 0 && dlen + 1 + plen + 1 <= sizeof path) {
            memcpy(path, dir, dlen);
            path[dlen] = '/';
            memcpy(path + dlen + 1, program, plen + 1);
            execve(path, argv, envp);
            if (errno == EACCES) saw_eacces = 1;
            else if (errno != ENOENT && errno != ENOTDIR) last = errno;
        }
        if (!end) break;
        dir = end + 1;
    }
    int err = saw_eacces ? EACCES : last;
    bt_child_fail(report_fd, BT_STAGE_EXEC, 0, err, err == ENOENT ? 127 : 126);
}

_Noreturn void bt_child_exec_program(const struct bt_spawn_config *c, int report_fd, int output_fd, uint64_t bounding) {
    reset_signals();
    // The conventional mask, not whatever the launcher runs with (the daemon keeps its own
    // files private with 077, which would make every file an app writes private too).
    umask(022);
    if (setsid() < 0) bt_child_fail(report_fd, BT_STAGE_SETSID, 0, errno, 1);
    int stdio[3] = {c->stdio_fds[0], c->stdio_fds[1], c->stdio_fds[2]};
    if (output_fd >= 0) stdio[1] = stdio[2] = output_fd;
    if (install_stdio(stdio) < 0) bt_child_fail(report_fd, BT_STAGE_STDIO, 0, errno, 1);
    // A new session has no controlling terminal; a shell needs one for job control.
    if (c->controlling_tty && ioctl(0, TIOCSCTTY, 0) < 0) bt_child_fail(report_fd, BT_STAGE_STDIO, 1, errno, 1);
    // Only 0-2 and the close-on-exec report pipe survive; the pipe closes itself at execve.
    if (report_fd > 3 && bt_close_range(3, (unsigned)report_fd - 1, 0) < 0)
        bt_child_fail(report_fd, BT_STAGE_CLOSE_FDS, 0, errno, 1);
    if (bt_close_range((unsigned)report_fd + 1, ~0U, 0) < 0)
        bt_child_fail(report_fd, BT_STAGE_CLOSE_FDS, 0, errno, 1);
    if (enter_workdir(c->workdir) < 0) bt_child_fail(report_fd, BT_STAGE_WORKDIR, 0, errno, 1);
    for (size_t i = 0; i < c->rlimit_count; i++) {
        struct rlimit limit = {(rlim_t)c->rlimits[i].soft, (rlim_t)c->rlimits[i].hard};
        if (setrlimit(c->rlimits[i].resource, &limit) < 0) bt_child_fail(report_fd, BT_STAGE_RLIMIT, (int)i, errno, 1);
    }
    if (bt_child_drop_bounding(c->keep_caps, bounding, c->last_cap) < 0)
        bt_child_fail(report_fd, BT_STAGE_CAPABILITIES, 0, errno, 1);
    int stage = 0;
    if (set_identity(c, &stage) < 0) bt_child_fail(report_fd, stage, 0, errno, 1);
    if (bt_child_set_caps(c->keep_caps, c->last_cap, c->set_ids && c->uid != 0) < 0)
        bt_child_fail(report_fd, BT_STAGE_CAPABILITIES, 1, errno, 1);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) bt_child_fail(report_fd, BT_STAGE_NO_NEW_PRIVS, 0, errno, 1);
    // Last before execve: the filter refuses calls the steps above need.
    if (c->seccomp_filter && bt_child_load_seccomp(c->seccomp_filter, c->seccomp_len) < 0)
        bt_child_fail(report_fd, BT_STAGE_SECCOMP, 0, errno, 1);
    exec_searching(c, report_fd);
}

// The program half runs on this stack, in our memory: with CLONE_VM nothing of our address
// space (a copy of the launcher's, tens of megabytes of mappings) is duplicated for a process
// that is about to exec, and CLONE_VFORK keeps us stopped until it has, so nothing else uses
// the stack or our memory meanwhile. Each sandbox's init (and exec's relay) has its own copy
// of this array, and starts one program. The half writes only its own stack and errno.
static char program_stack[64 * 1024] __attribute__((aligned(64)));

struct program_start {
    const struct bt_spawn_config *config;
    int report_fd;
    int output_fd;
    uint64_t bounding;
};

static int program_entry(void *raw) {
    const struct program_start *start = raw;
    bt_child_exec_program(start->config, start->report_fd, start->output_fd, start->bounding);
}

pid_t bt_child_start_program(const struct bt_spawn_config *config, int report_fd, int output_fd, uint64_t bounding) {
    struct program_start start = {config, report_fd, output_fd, bounding};
    // glibc's clone(), not fork(): no fork handlers run (they may take locks another thread of
    // the launcher held at the moment it was cloned).
    return clone(program_entry, program_stack + sizeof program_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &start);
}
