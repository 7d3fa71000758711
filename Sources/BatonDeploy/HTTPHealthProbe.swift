import BatonOS
import Glibc

/// The real health check: `GET <path>` over a fresh connection, judged by the status line
/// (over HTTP/2 without TLS for an app that speaks only that, `H2CStatusExchange`).
///
/// The socket work blocks (connect, poll, recv, and `setns` for a sandbox), so each check runs
/// on a thread of its own, never on the cooperative pool; every step is bounded by the attempt
/// timeout.
public struct HTTPHealthProbe: HealthProbe {
    /// Returns a connected socket that the probe then owns, taking at most about the given
    /// time; throws if it cannot connect.
    public typealias Connect = @Sendable (_ timeout: Duration) throws -> Int32

    private let request: [UInt8]
    private let h2c: Bool
    private let connect: Connect

    /// A probe that connects with `connect` and asks for `path` with the given Host header,
    /// over HTTP/2 with prior knowledge when `h2c`.
    public init(path: String, host: String = "localhost", h2c: Bool = false, connect: @escaping Connect) {
        self.request = h2c ? H2CStatusExchange.request(path: path, host: host) : HTTPStatusExchange.request(path: path, host: host)
        self.h2c = h2c
        self.connect = connect
    }

    /// A probe of `127.0.0.1:port`, with its socket made inside `network` (a sandbox's
    /// network namespace) when given, else in the caller's.
    public static func loopback(port: Int, path: String, in network: NetworkNamespace? = nil, h2c: Bool = false) -> HTTPHealthProbe {
        HTTPHealthProbe(path: path, host: "localhost:\(port)", h2c: h2c) { timeout in
            try LoopbackConnector.connect(port: port, in: network, deadline: SocketDeadline(after: timeout))
        }
    }

    public func check(timeout: Duration) async -> HealthResult {
        let request = self.request
        let h2c = self.h2c
        let connect = self.connect
        return await DetachedThread.run { Self.checkBlocking(request: request, h2c: h2c, connect: connect, timeout: timeout) }
    }

    private static func checkBlocking(request: [UInt8], h2c: Bool, connect: Connect, timeout: Duration) -> HealthResult {
        let deadline = SocketDeadline(after: timeout)
        let fd: Int32
        do {
            fd = try connect(timeout)
        } catch let error as OSError {
            return .failed(reason: error.description)
        } catch {
            return .failed(reason: "connect: \(error)")
        }
        defer { close(fd) }
        // The exchange polls, so the socket must not block even if `connect` made it blocking.
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
        if h2c { return H2CStatusExchange.run(fd: fd, request: request, deadline: deadline) }
        return HTTPStatusExchange.run(fd: fd, request: request, deadline: deadline)
    }
}
