// Capabilities, seccomp and the loopback interface: the raw calls the child makes itself.
#include "child.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int bt_child_drop_bounding(uint64_t keep, uint64_t present, int last_cap) {
    for (int cap = 0; cap <= last_cap && cap < 64; cap++) {
        if ((keep & (1ULL << cap)) || !(present & (1ULL << cap))) continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) return -1;
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) return -1;
    return 0;
}

int bt_child_set_caps(uint64_t keep, int last_cap, int raise_ambient) {
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    data[0].effective = data[0].permitted = data[0].inheritable = (uint32_t)keep;
    data[1].effective = data[1].permitted = data[1].inheritable = (uint32_t)(keep >> 32);
    if (syscall(SYS_capset, &header, data) < 0) return -1;
    // A non-root program keeps capabilities across execve only through the ambient set.
    if (raise_ambient) {
        for (int cap = 0; cap <= last_cap && cap < 64; cap++) {
            if ((keep & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) return -1;
        }
    }
    return 0;
}

int bt_child_load_seccomp(const struct sock_filter *filter, unsigned short len) {
    struct sock_fprog prog = {len, (struct sock_filter *)filter};
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

int bt_child_loopback_up(void) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct ifreq req;
    memset(&req, 0, sizeof req);
    memcpy(req.ifr_name, "lo", 3);
    int rc = ioctl(fd, SIOCGIFFLAGS, &req);
    if (rc == 0) {
        req.ifr_flags |= IFF_UP | IFF_RUNNING;
        rc = ioctl(fd, SIOCSIFFLAGS, &req);
    }
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}
