import CShims
import Glibc

/// Sockets made inside another network namespace. A socket keeps the namespace it was made
/// in, so the calling thread enters the namespace, makes the socket and returns at once; call
/// it on a helper thread, never on an event loop.
public enum NamespaceSocket {
    /// The network namespace of process `pid` (a sandbox's init), as `make` takes it.
    public static func networkNamespace(of pid: Int32) -> String { "/proc/\(pid)/ns/net" }

    /// A close-on-exec socket of `type` created inside the network namespace at `netnsPath`
    /// (e.g. /proc/PID/ns/net). The caller owns the descriptor.
    public static func make(inNetworkNamespace netnsPath: String, domain: Int32 = AF_INET,
                            type: Int32 = Int32(SOCK_STREAM.rawValue)) throws(OSError) -> Int32 {
        let target = try sys("open \(netnsPath)") { open(netnsPath, O_RDONLY | O_CLOEXEC) }
        defer { close(target) }
        let home = try sys("open /proc/thread-self/ns/net") { open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC) }
        defer { close(home) }
        try sys("setns \(netnsPath)") { bt_setns(target, Namespaces.network) }
        let made = Result { () throws(OSError) -> Int32 in
            try sys("socket") { socket(domain, type | Int32(SOCK_CLOEXEC.rawValue), 0) }
        }
        if bt_setns(home, Namespaces.network) != 0 {
            // This thread would stay in the sandbox's namespace: nothing safe is left to do.
            fatalError("cannot return to the daemon's network namespace: errno \(errno)")
        }
        return try made.get()
    }
}
