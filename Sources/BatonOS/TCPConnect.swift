import Glibc

/// A TCP connect bounded by a deadline, for blocking clients on helper threads (health and
/// smoke checks in a sandbox's namespace, `--verify`'s load to the proxy's own listener).
public enum TCPConnect {
    /// Connects `fd` (a TCP socket of `ip`'s family, made non-blocking here) to `ip:port`, an
    /// IPv4 or IPv6 literal; throws `connect IP:PORT` with the errno, ETIMEDOUT at the deadline.
    public static func connect(_ fd: Int32, ip: String, port: Int, deadline: SocketDeadline) throws(OSError) {
        let operation = "connect \(ip):\(port)"
        let flags = try sys("fcntl F_GETFL") { fcntl(fd, F_GETFL) }
        try sys("fcntl F_SETFL") { fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
        let result: Int32
        if ip.contains(":") {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
            guard inet_pton(AF_INET6, ip, &address.sin6_addr) == 1 else { throw OSError(operation, errno: EINVAL) }
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
            guard inet_pton(AF_INET, ip, &address.sin_addr) == 1 else { throw OSError(operation, errno: EINVAL) }
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
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
