import Foundation
import Glibc
import Testing

/// The proxy's end of each client connection has Nagle's algorithm off (`TCP_NODELAY`), set
/// once on the listener and given by the kernel to each accepted socket: a small response
/// written after its head must not wait for the client's delayed acknowledgement. Read from
/// the proxy's own socket (the proxy runs in this process), found by its two ports.
@Suite struct ClientSocketOptionsTests {
    @Test func acceptedConnectionsHaveNagleOff() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()  // closed when released
            try client.send("GET /a HTTP/1.1\r\nHost: app.test\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            let clientPort = try Self.port(of: client.fd, peer: false)
            let accepted = try Self.socket(localPort: fixture.port, peerPort: clientPort)
            var value: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            #expect(getsockopt(accepted, Int32(IPPROTO_TCP), TCP_NODELAY, &value, &length) == 0)
            #expect(value == 1)
        }
    }

    /// This process's socket whose local port is `localPort` and whose peer's is `peerPort`.
    static func socket(localPort: Int, peerPort: Int) throws -> Int32 {
        let fds = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").compactMap { Int32($0) }
        for fd in fds {
            guard let local = try? port(of: fd, peer: false), local == localPort,
                let peer = try? port(of: fd, peer: true), peer == peerPort
            else { continue }
            return fd
        }
        throw TestFailure("no socket from port \(localPort) to port \(peerPort) in this process")
    }

    /// The IPv4 port of `fd`'s own end or its peer's.
    static func port(of fd: Int32, peer: Bool) throws -> Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                peer ? getpeername(fd, $0, &length) : getsockname(fd, $0, &length)
            }
        }
        guard result == 0, address.sin_family == sa_family_t(AF_INET) else { throw TestFailure("not an IPv4 socket") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
