import BatonOS
import Glibc

/// Creates TCP sockets inside another network namespace. A socket keeps the namespace it was
/// created in, so the calling thread enters the namespace, creates the socket and returns at
/// once; run it on a helper thread, never on an event loop.
enum NetnsSocket {
    private typealias SetnsFunction = @convention(c) (Int32, Int32) -> Int32
    private static let cloneNewNet: Int32 = 0x4000_0000

    /// Glibc's module map hides setns (it needs _GNU_SOURCE), so it is looked up once by name.
    private static let setnsFunction: SetnsFunction? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns") else { return nil }
        return unsafeBitCast(symbol, to: SetnsFunction.self)
    }()

    /// A connected, non-blocking TCP socket to 127.0.0.1:`port` inside the namespace at
    /// `netnsPath` (e.g. /proc/PID/ns/net or /run/netns/NAME). The caller owns the descriptor.
    static func connect(netnsPath: String, port: Int) throws(OSError) -> CInt {
        guard let setns = setnsFunction else { throw OSError("setns", errno: ENOSYS) }
        let target = try sys("open \(netnsPath)") { open(netnsPath, O_RDONLY | O_CLOEXEC) }
        defer { close(target) }
        let home = try sys("open /proc/thread-self/ns/net") { open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC) }
        defer { close(home) }
        try sys("setns \(netnsPath)") { setns(target, cloneNewNet) }
        let made = Result { () throws(OSError) -> CInt in
            try sys("socket") { socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        }
        if setns(home, cloneNewNet) != 0 {
            // This thread would stay in the sandbox's namespace: nothing safe is left to do.
            fatalError("cannot return to the daemon's network namespace: errno \(errno)")
        }
        let fd = try made.get()
        do {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
            try sys("connect 127.0.0.1:\(port) in \(netnsPath)") {
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            var one: CInt = 1
            _ = setsockopt(fd, CInt(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<CInt>.size))
            let flags = try sys("fcntl") { fcntl(fd, F_GETFL) }
            try sys("fcntl") { fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
            return fd
        } catch {
            close(fd)
            throw error
        }
    }
}
