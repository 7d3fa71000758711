import Glibc
import Synchronization

/// A port on 127.0.0.1 held by a bound socket that does not listen: connections to it are
/// refused, as to a free port, but no other test (nor the kernel's choice of an ephemeral
/// port) can take it while this lives. A port bound and then released could be handed to
/// another test in between, whose server would then answer this test's probes.
public final class ReservedPort: Sendable {
    public let port: Int
    private let fd: Mutex<Int32>

    /// A port free a moment ago, for a program the test starts, which binds it itself: another
    /// process may take it meanwhile, so trust the program's own word that it listens.
    public static func released() throws -> Int {
        try ReservedPort().port
    }

    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(operation: "socket", errno: errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr = in_addr(s_addr: UInt32(0x7f00_0001).bigEndian)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            close(fd)
            throw Failure(operation: "bind 127.0.0.1:0", errno: errno)
        }
        self.fd = Mutex(fd)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// Hands the bound socket over; this reservation no longer closes it.
    public func takeSocket() -> Int32 {
        fd.withLock { fd in
            defer { fd = -1 }
            return fd
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let operation: String
        public let errno: Int32
        public var description: String { "\(operation): errno \(errno)" }
    }

    deinit {
        let fd = fd.withLock { $0 }
        if fd >= 0 { close(fd) }
    }
}
