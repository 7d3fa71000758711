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

    /// The request, made once, and how its answer is read off the connected socket.
    private let exchange: @Sendable (_ fd: Int32, _ deadline: SocketDeadline) -> HealthResult
    private let connect: Connect

    /// A probe that connects with `connect` and asks for `path` with the given Host header,
    /// over HTTP/2 with prior knowledge when `h2c`.
    public init(path: String, host: String = "localhost", h2c: Bool = false, connect: @escaping Connect) {
        if h2c {
            let request = H2CStatusExchange.request(path: path, host: host)
            exchange = { H2CStatusExchange.run(fd: $0, request: request, deadline: $1) }
        } else {
            let request = HTTPStatusExchange.request(path: path, host: host)
            exchange = { HTTPStatusExchange.run(fd: $0, request: request, deadline: $1) }
        }
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
        let exchange = self.exchange
        let connect = self.connect
        return await DetachedThread.run { Self.checkBlocking(exchange: exchange, connect: connect, timeout: timeout) }
    }

    private static func checkBlocking(
        exchange: (Int32, SocketDeadline) -> HealthResult, connect: Connect, timeout: Duration
    ) -> HealthResult {
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
        return exchange(fd, deadline)
    }
}
