// clone3 and the first moments of the child: everything before the root is entered.
#include "child.h"
#include "bt_netlink.h"
#include "bt_syscall.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

_Noreturn void bt_child_fail(int report_fd, int stage, int index, int error, int code) {
    struct bt_spawn_report report = {stage, index, error};
    ssize_t ignored = write(report_fd, &report, sizeof report);
    (void)ignored;
    _exit(code);
}

const char *bt_fd_path(int fd, char *buf) {
    static const char prefix[] = "/proc/self/fd/";
    char digits[16];
    int n = 0;
    unsigned value = (unsigned)fd;
    do { digits[n++] = (char)('0' + value % 10); value /= 10; } while (value && n < 15);
    memcpy(buf, prefix, sizeof prefix - 1);
    char *p = buf + sizeof prefix - 1;
    while (n) *p++ = digits[--n];
    *p = 0;
    return buf;
}

int bt_close_all_except(const int *keep, int count) {
    int sorted[8];
    int n = 0;
    for (int i = 0; i < count && n < 8; i++) {
        if (keep[i] < 0) continue;
        int j = n++;
        while (j > 0 && sorted[j - 1] > keep[i]) { sorted[j] = sorted[j - 1]; j--; }
        sorted[j] = keep[i];
    }
    unsigned next = 0;
    for (int i = 0; i < n; i++) {
        if ((unsigned)sorted[i] > next && bt_close_range(next, (unsigned)sorted[i] - 1, 0) < 0) return -1;
        next = (unsigned)sorted[i] + 1;
    }
    return bt_close_range(next, ~0U, 0);
}

/// The overlay root, the mount plan and pivot_root, then hostname and loopback: everything
/// the sandbox's own namespaces need before the program. -1 with `*stage`/`*index` and errno.
static int setup_root(const struct bt_spawn_config *config, int *stage, int *index) {
    int trees[config->mount_count > 0 ? config->mount_count : 1];
    int rootfd = bt_child_mount_overlay(config, trees, stage, index);
    if (rootfd < 0) return -1;

    // Until now our ids were still the launcher's host ids, which own Baton's directories;
    // the maps are written, so become the namespace's root (an unprivileged host id) before
    // anything of the sandbox's own is created.
    if ((config->namespaces & CLONE_NEWUSER) && (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0)) {
        *stage = BT_STAGE_SETUID;
        return -1;
    }

    if (bt_child_enter_root(config, rootfd, trees, stage, index) < 0) return -1;
    close(rootfd);

    if (config->hostname && sethostname(config->hostname, strlen(config->hostname)) < 0) {
        *stage = BT_STAGE_HOSTNAME;
        return -1;
    }
    if (config->loopback_up && bt_child_loopback_up() < 0) {
        *stage = BT_STAGE_LOOPBACK;
        return -1;
    }
    return 0;
}

/// Whether the child builds its root before the go byte: asked for, and no user namespace,
/// whose id maps the parent writes first.
static int builds_root_early(const struct bt_spawn_config *config) {
    return config->setup_before_release && !(config->namespaces & CLONE_NEWUSER);
}

static _Noreturn void child_main(const struct bt_spawn_config *config, int sync_fd, int report_fd) {
    // A caller's descriptors (another thread's pipes included) must not outlive this point.
    int keep[6] = {sync_fd, report_fd, config->stdio_fds[0], config->stdio_fds[1], config->stdio_fds[2], config->log_dir_fd};
    int keep_std[3] = {0, 1, 2};
    for (int i = 0; i < 3; i++) if (config->stdio_fds[i] < 0) keep[2 + i] = keep_std[i];
    if (bt_close_all_except(keep, 6) < 0) bt_child_fail(report_fd, BT_STAGE_CLOSE_FDS, 0, errno, 1);

    // Not the parent's name or command line: `ps` and `pkill` should tell a sandbox from
    // its launcher.
    prctl(PR_SET_NAME, "baton-init", 0, 0, 0);
    if (config->init_title) bt_child_set_title(config->init_title, config->argv_area, config->argv_area_len);

    // The death signal is tied to the spawning thread; callers that want it spawn from a
    // thread that lives as long as the sandbox should.
    if (config->die_with_parent && prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        bt_child_fail(report_fd, BT_STAGE_PDEATHSIG, 0, errno, 1);

    // Without a user namespace or a v1 cgroup to join, nothing below needs the parent's
    // step: build the root while the parent records the sandbox. A failure waits for the go
    // byte like everything else, so the parent sees it where it always did.
    int stage = 0, index = 0, failed = 0, error = 0;
    int early = builds_root_early(config);
    if (early && setup_root(config, &stage, &index) < 0) { failed = 1; error = errno; }

    // EOF instead of the go byte: the parent died or gave up; nothing to report to.
    char go = 0;
    ssize_t got;
    do { got = read(sync_fd, &go, 1); } while (got < 0 && errno == EINTR);
    if (got != 1) _exit(1);
    close(sync_fd);
    if (failed) bt_child_fail(report_fd, stage, index, error, 1);

    // Now that the parent has placed us in our cgroup, root the cgroup namespace there.
    if ((config->namespaces & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
        bt_child_fail(report_fd, BT_STAGE_CGROUP_NS, 0, errno, 1);

    if (!early && setup_root(config, &stage, &index) < 0) bt_child_fail(report_fd, stage, index, errno, 1);
    if (config->net_interface &&
        bt_net_configure_interface(config->net_interface, config->net_address, config->net_prefix, config->net_gateway,
                                   config->net_route_mtu) < 0)
        bt_child_fail(report_fd, BT_STAGE_NETWORK, 0, errno, 1);

    // Nothing inside may open our /proc/1/exe (the Baton binary) or ptrace us.
    if (prctl(PR_SET_DUMPABLE, 0) < 0) bt_child_fail(report_fd, BT_STAGE_DUMPABLE, 0, errno, 1);

    int output[2] = {-1, -1}, log_fd = -1;
    if (config->log_dir_fd >= 0) {
        log_fd = openat(config->log_dir_fd, config->log_name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (log_fd < 0 || pipe2(output, O_CLOEXEC) < 0) bt_child_fail(report_fd, BT_STAGE_LOG, 0, errno, 1);
    }

    // The bounding set is narrowed once, here, to what init (CAP_KILL) and the program keep
    // between them; each then drops only the other's share.
    uint64_t bounding = config->keep_caps | (1ULL << CAP_KILL);
    if (bt_child_drop_bounding(bounding, ~0ULL, config->last_cap) < 0)
        bt_child_fail(report_fd, BT_STAGE_CAPABILITIES, 0, errno, 1);
    pid_t program = bt_child_start_program(config, report_fd, output[1], bounding);
    if (program < 0) bt_child_fail(report_fd, BT_STAGE_FORK, 0, errno, 1);
    close(report_fd);
    if (output[1] >= 0) close(output[1]);
    bt_child_init_loop(config, program, output[0], log_fd, bounding);
}

long bt_clone_with_pipes(uint64_t flags, int cgroup_fd, struct bt_spawn_handle *handle) {
    int sync_pipe[2], report_pipe[2];
    if (pipe2(sync_pipe, O_CLOEXEC) < 0) return -1;
    if (pipe2(report_pipe, O_CLOEXEC) < 0) {
        int saved = errno;
        close(sync_pipe[0]); close(sync_pipe[1]);
        errno = saved;
        return -1;
    }

    int pidfd = -1;
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = flags | CLONE_PIDFD;
    args.pidfd = (uint64_t)(uintptr_t)&pidfd;
    args.exit_signal = SIGCHLD;
    if (cgroup_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t)cgroup_fd;
    }

    // Signals stay blocked in the child until the program half resets and unblocks them;
    // init and the exec relay wait for them.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) {
        close(sync_pipe[1]);
        close(report_pipe[0]);
        handle->sync_fd = sync_pipe[0];
        handle->report_fd = report_pipe[1];
        return 0;
    }
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(sync_pipe[0]);
    close(report_pipe[1]);
    if (pid < 0) {
        close(sync_pipe[1]);
        close(report_pipe[0]);
        errno = saved;
        return -1;
    }
    handle->pid = (pid_t)pid;
    handle->pidfd = pidfd;
    handle->sync_fd = sync_pipe[1];
    handle->report_fd = report_pipe[0];
    return pid;
}

_Static_assert(sizeof(cpu_set_t) <= sizeof(((struct bt_spawn_handle *)0)->cpus), "a CPU set fits the handle");

int bt_spawn(const struct bt_spawn_config *config, struct bt_spawn_handle *handle) {
    cpu_set_t cpus;
    int early = builds_root_early(config);
    int have_cpus = early && sched_getaffinity(0, sizeof cpus, &cpus) == 0;
    long pid = bt_clone_with_pipes((uint64_t)(config->namespaces & ~CLONE_NEWCGROUP), config->cgroup_fd, handle);
    if (pid == 0) child_main(config, handle->sync_fd, handle->report_fd);
    if (pid > 0 && have_cpus) {
        // A new child starts on its parent's CPU and waits there until the parent sleeps:
        // on another CPU it builds its root while we record it. bt_spawn_release gives it our
        // CPUs back just before the go byte, so the program starts with them. (The child did
        // that itself at first, which a preemption of ours between clone and the move below
        // could have undone for good.)
        cpu_set_t others = cpus;
        int cpu = sched_getcpu();
        if (cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &others) && CPU_COUNT(&others) > 1) {
            CPU_CLR(cpu, &others);
            if (sched_setaffinity((pid_t)pid, sizeof others, &others) == 0) {
                handle->restore_cpus = 1;
                memcpy(handle->cpus, &cpus, sizeof cpus);
            }
        }
    }
    return pid < 0 ? -1 : 0;
}

int bt_spawn_release(struct bt_spawn_handle *handle) {
    if (handle->restore_cpus) {
        // Not fatal if it fails: the child still runs, on the CPUs it was moved to.
        cpu_set_t cpus;
        memcpy(&cpus, handle->cpus, sizeof cpus);
        sched_setaffinity(handle->pid, sizeof cpus, &cpus);
        handle->restore_cpus = 0;
    }
    char go = 1;
    ssize_t n;
    do { n = write(handle->sync_fd, &go, 1); } while (n < 0 && errno == EINTR);
    int saved = errno;
    close(handle->sync_fd);
    handle->sync_fd = -1;
    if (n != 1) { errno = saved; return -1; }
    return 0;
}

int bt_spawn_wait_exec(struct bt_spawn_handle *handle, struct bt_spawn_report *report) {
    ssize_t n;
    do { n = read(handle->report_fd, report, sizeof *report); } while (n < 0 && errno == EINTR);
    int saved = errno;
    close(handle->report_fd);
    handle->report_fd = -1;
    if (n < 0) { errno = saved; return -1; }
    if (n == 0) return 0;
    if (n != (ssize_t)sizeof *report) {
        // The child died between writing part of a record and the rest: treat it as unknown.
        report->stage = BT_STAGE_INIT; report->index = 0; report->error = EIO;
    }
    return 1;
}
