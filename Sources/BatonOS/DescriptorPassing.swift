import CShims
import Glibc

/// Open descriptors sent from one process to another over an AF_UNIX socket (SCM_RIGHTS): the
/// receiver gets new descriptors for the same open files, with their offsets, flags and
/// flock(2) locks. How a daemon hands its listening sockets and its root lock to its successor.
public enum DescriptorPassing {
    public static let maxDescriptors = 16
    private static let payloadLimit = 65536

    /// Sends one message: `payload` (1...65536 bytes) with `descriptors` (0...16) over a connected AF_UNIX socket (SOCK_SEQPACKET expected; STREAM works for one message at a time).
    public static func send(socket: Int32, payload: [UInt8], descriptors: [Int32]) throws(OSError) {
        // An empty payload would read as the end of the stream on the other side.
        guard !payload.isEmpty, descriptors.count <= maxDescriptors else { throw OSError("sendmsg", errno: EINVAL) }
        guard payload.count <= payloadLimit else { throw OSError("sendmsg", errno: EMSGSIZE) }
        var sent = try transmit(socket: socket, payload[...], descriptors: descriptors)
        // Only a stream socket sends part of a message; the descriptors went with the first byte.
        while sent < payload.count {
            sent += try transmit(socket: socket, payload[sent...], descriptors: [])
        }
    }

    /// Receives one message, its descriptors close-on-exec. nil at end of stream (peer closed). A message whose payload or control data was truncated is refused (OSError, errno EMSGSIZE) after closing every descriptor that did arrive. Waits until `deadline` (nil: forever) with poll; past it throws OSError errno ETIMEDOUT.
    public static func receive(
        socket: Int32, maxPayload: Int = 65536, deadline: ContinuousClock.Instant? = nil
    ) throws(OSError) -> (payload: [UInt8], descriptors: [Int32])? {
        guard maxPayload > 0 else { throw OSError("recvmsg", errno: EINVAL) }
        var payload = [UInt8](repeating: 0, count: maxPayload)
        var descriptors = [Int32](repeating: -1, count: maxDescriptors)
        var count: Int32 = 0
        var flags: Int32 = 0
        while true {
            // Non-blocking, whatever the socket's mode: the wait is poll's, bounded by the deadline.
            let received = payload.withUnsafeMutableBytes { bytes in
                descriptors.withUnsafeMutableBufferPointer { fds in
                    bt_receive_descriptors(socket, bytes.baseAddress, bytes.count, fds.baseAddress, Int32(fds.count),
                                           &count, &flags, Int32(MSG_DONTWAIT))
                }
            }
            if received >= 0 {
                let arrived = Array(descriptors[..<Int(count)])
                if flags & Int32(MSG_CTRUNC) != 0 {
                    arrived.forEach { close($0) }
                    throw OSError("recvmsg: over \(maxDescriptors) descriptors", errno: EMSGSIZE)
                }
                if flags & Int32(MSG_TRUNC) != 0 {
                    arrived.forEach { close($0) }
                    throw OSError("recvmsg: payload over \(maxPayload) bytes", errno: EMSGSIZE)
                }
                if received == 0 {
                    // End of stream; a zero-length message cannot be sent through `send`.
                    arrived.forEach { close($0) }
                    return nil
                }
                return (Array(payload[..<received]), arrived)
            }
            let code = errno
            if code == EINTR { continue }
            guard code == EAGAIN || code == EWOULDBLOCK else { throw OSError("recvmsg", errno: code) }
            try wait(socket, for: Int32(POLLIN), until: deadline, operation: "recvmsg")
        }
    }

    /// A connected pair of close-on-exec SOCK_SEQPACKET sockets.
    public static func socketPair() throws(OSError) -> (Int32, Int32) {
        var pair: [Int32] = [-1, -1]
        try sys("socketpair") {
            socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair)
        }
        return (pair[0], pair[1])
    }

    /// One sendmsg, waiting (without bound) while a non-blocking socket's buffer is full.
    private static func transmit(socket: Int32, _ bytes: ArraySlice<UInt8>, descriptors: [Int32]) throws(OSError) -> Int {
        while true {
            let sent = bytes.withUnsafeBytes { buffer in
                descriptors.withUnsafeBufferPointer { fds in
                    bt_send_descriptors(socket, buffer.baseAddress, buffer.count, fds.baseAddress, Int32(fds.count), 0)
                }
            }
            if sent >= 0 { return sent }
            let code = errno
            if code == EINTR { continue }
            guard code == EAGAIN || code == EWOULDBLOCK else { throw OSError("sendmsg", errno: code) }
            try wait(socket, for: Int32(POLLOUT), until: nil, operation: "sendmsg")
        }
    }

    /// Polls `fd` for `events` until the deadline (nil: forever); ETIMEDOUT once it has passed.
    private static func wait(_ fd: Int32, for events: Int32, until deadline: ContinuousClock.Instant?, operation: String) throws(OSError) {
        if let deadline {
            guard try SocketDeadline(at: deadline).wait(fd, for: events) else { throw OSError(operation, errno: ETIMEDOUT) }
            return
        }
        var entry = pollfd(fd: fd, events: Int16(events), revents: 0)
        try sys("poll") { poll(&entry, 1, -1) }
    }
}
