// Attack probe for the sandbox tests: each mode attempts one thing a confined program must
// not be able to do and prints what the kernel answered ("ok" or the errno name).
// Built statically by the tests so it runs in a busybox root.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <netinet/in.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static int report(long rc) {
    if (rc < 0) printf("%s\n", strerrorname_np(errno));
    else printf("ok\n");
    return 0;
}

static long i386_getpid(void) {
    long ret;
    // int 0x80 with eax = 20 (getpid in the i386 table).
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
    return ret;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *m = argv[1];
    if (!strcmp(m, "mount")) return report(mount("tmpfs", "/tmp", "tmpfs", 0, NULL));
    if (!strcmp(m, "umount")) return report(umount2("/proc", MNT_DETACH));
    if (!strcmp(m, "pivot_root")) return report(syscall(SYS_pivot_root, "/tmp", "/tmp"));
    if (!strcmp(m, "chroot")) return report(chroot("/tmp"));
    if (!strcmp(m, "unshare")) return report(unshare(CLONE_NEWNS));
    if (!strcmp(m, "unshare-user")) return report(unshare(CLONE_NEWUSER));
    if (!strcmp(m, "setns")) {
        int fd = open("/proc/self/ns/net", O_RDONLY);
        if (fd < 0) return report(fd);
        return report(setns(fd, 0));
    }
    if (!strcmp(m, "clone-newuser")) {
        long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
        if (pid == 0) _exit(0);
        return report(pid);
    }
    if (!strcmp(m, "clone3")) {
        long rc = syscall(SYS_clone3, NULL, 0);
        return report(rc);
    }
    if (!strcmp(m, "fork")) {
        pid_t pid = fork();
        if (pid == 0) _exit(0);
        return report(pid);
    }
    if (!strcmp(m, "keyctl")) return report(syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "probe"));
    if (!strcmp(m, "add_key")) return report(syscall(SYS_add_key, "user", "probe", "x", 1, KEY_SPEC_SESSION_KEYRING));
    if (!strcmp(m, "bpf")) {
        union bpf_attr attr;
        memset(&attr, 0, sizeof attr);
        attr.map_type = BPF_MAP_TYPE_ARRAY; attr.key_size = 4; attr.value_size = 4; attr.max_entries = 1;
        return report(syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr));
    }
    if (!strcmp(m, "perf_event_open")) return report(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
    if (!strcmp(m, "ptrace")) return report(ptrace(PTRACE_ATTACH, argc > 2 ? atoi(argv[2]) : 1, 0, 0));
    if (!strcmp(m, "kexec_load")) return report(syscall(SYS_kexec_load, 0, 0, NULL, 0));
    if (!strcmp(m, "init_module")) return report(syscall(SYS_init_module, NULL, 0, ""));
    if (!strcmp(m, "reboot")) return report(syscall(SYS_reboot, 0xfee1dead, 672274793, 0x4321FEDC, NULL));
    if (!strcmp(m, "swapon")) return report(syscall(SYS_swapon, "/tmp/swap", 0));
    if (!strcmp(m, "acct")) return report(syscall(SYS_acct, NULL));
    if (!strcmp(m, "open_by_handle_at")) return report(syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, 0));
    if (!strcmp(m, "userfaultfd")) return report(syscall(SYS_userfaultfd, 0));
    if (!strcmp(m, "clock_settime")) {
        struct timespec ts = {0, 0};
        return report(clock_settime(CLOCK_REALTIME, &ts));
    }
    if (!strcmp(m, "personality")) return report(personality(PER_LINUX32));
    if (!strcmp(m, "personality-query")) return report(personality(0xffffffff));
    if (!strcmp(m, "io_uring_setup")) return report(syscall(SYS_io_uring_setup, 1, NULL));
    if (!strcmp(m, "tiocsti")) { char c = 'x'; return report(ioctl(0, TIOCSTI, &c)); }
    if (!strcmp(m, "tiocsti-high")) {
        // The same request with bits set above 32: the kernel truncates it to TIOCSTI.
        char c = 'x';
        return report(syscall(SYS_ioctl, 0, (unsigned long)TIOCSTI | (1UL << 32), &c));
    }
    if (!strcmp(m, "raw-socket")) return report(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
    // Socket families: only AF_UNIX, AF_INET, AF_INET6 and netlink routes pass the filter.
    if (!strcmp(m, "socket")) {
        // socket FAMILY [PROTOCOL] with SOCK_STREAM (SOCK_RAW for netlink)
        int family = atoi(argv[2]);
        int protocol = argc > 3 ? atoi(argv[3]) : 0;
        int fd = socket(family, family == AF_NETLINK ? SOCK_RAW : SOCK_STREAM, protocol);
        if (fd >= 0) close(fd);
        return report(fd);
    }
    if (!strcmp(m, "socket-high-bits")) {
        // AF_VSOCK with bits set above 32: the kernel reads only the int.
        return report(syscall(SYS_socket, (1UL << 32) | 40, SOCK_STREAM, 0));
    }
    if (!strcmp(m, "socketpair")) {
        int fds[2];
        int rc = socketpair(atoi(argv[2]), SOCK_STREAM, 0, fds);
        if (rc == 0) { close(fds[0]); close(fds[1]); }
        return report(rc);
    }
    // A system call by number: those the allowlist does not name answer ENOSYS.
    if (!strcmp(m, "syscall")) return report(syscall(atol(argv[2]), 0, 0, 0, 0, 0));
    if (!strcmp(m, "ioctl-fionread")) { int n = 0; return report(ioctl(0, FIONREAD, &n)); }
    if (!strcmp(m, "mknod")) return report(mknod("/tmp/probe-null", S_IFCHR | 0600, makedev(1, 3)));
    if (!strcmp(m, "i386")) {
        long rc = i386_getpid();
        if (rc < 0) { errno = (int)-rc; return report(-1); }
        return report(0);
    }
    if (!strcmp(m, "x32")) return report(syscall(0x40000000 | 39));
    if (!strcmp(m, "write-exe")) return report(open(argc > 2 ? argv[2] : "/proc/1/exe", O_WRONLY));
    if (!strcmp(m, "forkbomb")) {
        // Fork sleepers until the kernel says no; report how many it allowed and why it stopped.
        int started = 0;
        for (int i = 0; i < 256; i++) {
            pid_t pid = fork();
            if (pid == 0) { sleep(2); _exit(0); }
            if (pid < 0) break;
            started++;
        }
        printf("%d %s\n", started, strerrorname_np(errno));
        return 0;
    }
    if (!strcmp(m, "hog")) {
        // Touch memory page by page until the cgroup's limit stops us.
        for (size_t total = 0;; total += 1 << 20) {
            char *block = malloc(1 << 20);
            if (!block) { printf("ENOMEM\n"); return 0; }
            memset(block, 1, 1 << 20);
        }
    }
    fprintf(stderr, "probe: unknown mode %s\n", m);
    return 2;
}
