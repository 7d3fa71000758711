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
            try TCPConnect.connect(fd, ip: "127.0.0.1", port: port, deadline: deadline)
            return fd
        } catch {
            close(fd)
            throw error
        }
    }
}
