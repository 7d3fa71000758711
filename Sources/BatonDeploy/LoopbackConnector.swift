import BatonOS
import Glibc

/// Connects to 127.0.0.1:PORT, optionally inside a sandbox's network namespace, within a
/// deadline. Blocking: call it on a helper thread.
enum LoopbackConnector {
    /// A connected, non-blocking, close-on-exec TCP socket; the caller closes it.
    static func connect(port: Int, in network: NetworkNamespace?, deadline: SocketDeadline) throws(OSError) -> Int32 {
        let fd: Int32
        if let network {
            fd = try network.makeSocket()
        } else {
            fd = try sys("socket") { socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        }
        do {
            try connect(fd, port: port, deadline: deadline)
            return fd
        } catch {
            close(fd)
            throw error
        }
    }

    private static func connect(_ fd: Int32, port: Int, deadline: SocketDeadline) throws(OSError) {
        let operation = "connect 127.0.0.1:\(port)"
        let flags = try sys("fcntl F_GETFL") { fcntl(fd, F_GETFL) }
        try sys("fcntl F_SETFL") { fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
        address.sin_addr = in_addr(s_addr: UInt32(0x7f00_0001).bigEndian)
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if result == 0 { return }
        let code = errno
        guard code == EINPROGRESS || code == EINTR else { throw OSError(operation, errno: code) }
        guard try deadline.wait(fd, for: Int32(POLLOUT)) else { throw OSError(operation, errno: ETIMEDOUT) }
        var failure: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        try sys("getsockopt SO_ERROR") { getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length) }
        if failure != 0 { throw OSError(operation, errno: failure) }
    }
}
