import BatonOS
import Glibc

/// Creates TCP sockets inside another network namespace. A socket keeps the namespace it was
/// created in, so the calling thread enters the namespace, creates the socket and returns at
/// once; run it on a helper thread, never on an event loop.
enum NetnsSocket {
    /// A non-blocking TCP socket connected, or connecting, to 127.0.0.1:`port` inside
    /// `namespace`. The caller owns the descriptor.
    static func connect(in namespace: NetworkNamespace, port: Int) throws(OSError) -> CInt {
        let fd = try namespace.makeSocket()
        do throws(OSError) {
            // Non-blocking before connect: a listener whose backlog is full drops the SYN and
            // a blocking connect would hold this pool thread for the retransmit (a second or
            // more), stalling every other sandbox connection behind it. NIO finishes the
            // connect: it waits for writability before the first write.
            let flags = try sys("fcntl") { fcntl(fd, F_GETFL) }
            try sys("fcntl") { fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            if rc != 0 && errno != EINPROGRESS {
                throw OSError("connect 127.0.0.1:\(port) in \(namespace)", errno: errno)
            }
            var one: CInt = 1
            _ = setsockopt(fd, CInt(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<CInt>.size))
            return fd
        } catch {
            close(fd)
            throw error
        }
    }
}
