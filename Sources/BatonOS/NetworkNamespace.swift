import CShims
import Glibc

/// A network namespace held by an open descriptor, for as long as anyone uses it: a sandbox's,
/// entered by the proxy and the health checks to make sockets inside it.
///
/// A `/proc/PID/ns/net` path names whatever process has the pid now: once the sandbox's init
/// is reaped the pid can be reused, and a path would lead into that process's namespace (the
/// host's, typically). A descriptor keeps naming the namespace it was opened on. It is closed
/// when the last reference goes, so a socket being made on a helper thread, which holds one,
/// never sees it closed or its number reused.
public final class NetworkNamespace: Hashable, Sendable, CustomStringConvertible {
    private let fd: Int32
    /// The namespace's identity: two handles on one namespace are equal.
    private let device: UInt64
    public let inode: UInt64

    private init(fd: Int32, device: UInt64, inode: UInt64) {
        self.fd = fd
        self.device = device
        self.inode = inode
    }

    deinit { close(fd) }

    /// The network namespace of `process` (a sandbox's init), which must still run.
    public static func of(_ process: ProcessHandle) throws(OSError) -> NetworkNamespace {
        let path = "/proc/\(process.pid)/ns/net"
        let fd = try sys("open \(path)") { open(path, O_RDONLY | O_CLOEXEC) }
        // Checked after opening: the handle's pidfd names the process itself, and while it
        // still runs its pid cannot belong to another, so the open reached its namespace.
        guard process.isRunning else {
            close(fd)
            throw OSError("open \(path): the process has exited", errno: ESRCH)
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw OSError("fstat \(path)", errno: code)
        }
        return NetworkNamespace(fd: fd, device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// A close-on-exec socket of `type` made inside this namespace; the caller owns it. The
    /// calling thread enters the namespace, makes the socket (which keeps the namespace it was
    /// made in) and returns at once: call it on a helper thread, never on an event loop.
    public func makeSocket(domain: Int32 = AF_INET, type: Int32 = Int32(SOCK_STREAM.rawValue)) throws(OSError) -> Int32 {
        let home = try sys("open /proc/thread-self/ns/net") { open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC) }
        defer { close(home) }
        try sys("setns \(self)") { bt_setns(fd, Namespaces.network) }
        let made = Result { () throws(OSError) -> Int32 in
            try sys("socket") { socket(domain, type | Int32(SOCK_CLOEXEC.rawValue), 0) }
        }
        if bt_setns(home, Namespaces.network) != 0 {
            // This thread would stay in the sandbox's namespace: nothing safe is left to do.
            fatalError("cannot return to the daemon's network namespace: errno \(errno)")
        }
        return try made.get()
    }

    public static func == (lhs: NetworkNamespace, rhs: NetworkNamespace) -> Bool {
        lhs.device == rhs.device && lhs.inode == rhs.inode
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(device)
        hasher.combine(inode)
    }

    /// `net:[INODE]`, as `readlink /proc/PID/ns/net` shows it.
    public var description: String { "net:[\(inode)]" }
}
