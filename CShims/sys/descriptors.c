#include "bt_descriptors.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

// Room for a full SCM_RIGHTS message, aligned as a cmsghdr must be.
union bt_control {
    struct cmsghdr header;
    char bytes[CMSG_SPACE(sizeof(int) * BT_DESCRIPTORS_MAX)];
};

ssize_t bt_send_descriptors(int socket, const void *payload, size_t length, const int *fds, int count, int flags) {
    if (count < 0 || count > BT_DESCRIPTORS_MAX) {
        errno = EINVAL;
        return -1;
    }
    struct iovec vector = {.iov_base = (void *)payload, .iov_len = length};
    struct msghdr message = {.msg_iov = &vector, .msg_iovlen = 1};
    union bt_control control;
    if (count > 0) {
        memset(&control, 0, sizeof control);
        message.msg_control = control.bytes;
        message.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)count);
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)count);
        memcpy(CMSG_DATA(header), fds, sizeof(int) * (size_t)count);
    }
    return sendmsg(socket, &message, flags | MSG_NOSIGNAL);
}

ssize_t bt_receive_descriptors(int socket, void *payload, size_t capacity, int *fds, int max_fds, int *count,
                               int *msg_flags, int flags) {
    *count = 0;
    *msg_flags = 0;
    if (max_fds < 0 || max_fds > BT_DESCRIPTORS_MAX) {
        errno = EINVAL;
        return -1;
    }
    struct iovec vector = {.iov_base = payload, .iov_len = capacity};
    struct msghdr message = {.msg_iov = &vector, .msg_iovlen = 1};
    union bt_control control;
    if (max_fds > 0) {
        // CMSG_LEN, not CMSG_SPACE: the kernel fits (controllen - header) / sizeof(int)
        // descriptors, and padding would let one more than max_fds in.
        message.msg_control = control.bytes;
        message.msg_controllen = CMSG_LEN(sizeof(int) * (size_t)max_fds);
    }
    ssize_t received = recvmsg(socket, &message, flags | MSG_CMSG_CLOEXEC);
    if (received < 0) return -1;
    int truncated = 0;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header != NULL; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        size_t carried = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t index = 0; index < carried; index++) {
            int fd;
            memcpy(&fd, CMSG_DATA(header) + index * sizeof(int), sizeof fd);
            // Only a second SCM_RIGHTS header could overflow `fds`; nothing may leak then either.
            if (*count < max_fds) {
                fds[(*count)++] = fd;
            } else {
                close(fd);
                truncated = 1;
            }
        }
    }
    *msg_flags = message.msg_flags | (truncated ? MSG_CTRUNC : 0);
    return received;
}
