// Descriptor passing over AF_UNIX sockets: one sendmsg/recvmsg with SCM_RIGHTS.
// Both return -1 with errno set on failure, like the syscalls they wrap.
#ifndef BT_DESCRIPTORS_H
#define BT_DESCRIPTORS_H

#include <stddef.h>
#include <sys/types.h>

/// The most descriptors one message may carry (the kernel's SCM_MAX_FD).
#define BT_DESCRIPTORS_MAX 253

/// Sends `length` bytes of `payload` with `count` descriptors (0...BT_DESCRIPTORS_MAX) in one
/// sendmsg, MSG_NOSIGNAL added to `flags`. Returns the bytes sent.
ssize_t bt_send_descriptors(int socket, const void *payload, size_t length, const int *fds, int count, int flags);

/// Receives one message into `payload` (`capacity` bytes) and at most `max_fds`
/// (0...BT_DESCRIPTORS_MAX) descriptors into `fds`, close-on-exec (MSG_CMSG_CLOEXEC added to
/// `flags`). Returns the payload bytes (0 at end of stream); `*count` is the descriptors
/// stored and `*msg_flags` the message's flags, where MSG_TRUNC and MSG_CTRUNC say the payload
/// or the descriptors did not fit: the kernel closes those that did not, the caller owns those
/// in `fds`.
ssize_t bt_receive_descriptors(int socket, void *payload, size_t capacity, int *fds, int max_fds, int *count,
                               int *msg_flags, int flags);

#endif
