import BatonProxy
import Foundation
import Logging
import NIOCore
import NIOPosix

/// A proxy on 127.0.0.1 with a fresh port, in front of a `TestBackend`, routing `app.test` and
/// `*.wild.test` to it. Stopped by `stop()`, which tests call in `defer`-like cleanup.
final class ProxyFixture: Sendable {
    let backend: TestBackend
    let proxy: Proxy
    let group: MultiThreadedEventLoopGroup
    let port: Int

    init(backendRecording: Bool = true, threads: Int = 2, configure: (inout ProxyConfiguration) -> Void = { _ in }) async throws {
        backend = try await TestBackend(recording: backendRecording)
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        var configuration = ProxyConfiguration()
        configure(&configuration)
        proxy = Proxy(configuration: configuration, group: group)
        let address = try await proxy.start(host: "127.0.0.1", port: 0)
        port = address.port!
        proxy.install(RouteTable([
            ("app.test", Route(app: "app", target: backendTarget)),
            ("*.wild.test", Route(app: "wild", target: backendTarget)),
            ("empty.test", Route(app: "empty", target: nil)),
            ("refused.test", Route(app: "refused", target: .address(host: "127.0.0.1", port: 1))),
        ]))
    }

    var backendTarget: Target { .address(host: "127.0.0.1", port: backend.port) }

    func client(timeout: Double = 10) throws -> RawClient { try RawClient(port: port, timeout: timeout) }

    func stop() async {
        await proxy.shutdown(gracePeriod: .milliseconds(200))
        try? await group.shutdownGracefully()
        await backend.stop()
    }

    /// Runs `body` with a fresh fixture and always stops it.
    static func with(
        backendRecording: Bool = true,
        threads: Int = 2,
        configure: (inout ProxyConfiguration) -> Void = { _ in },
        _ body: (ProxyFixture) async throws -> Void
    ) async throws {
        let fixture = try await ProxyFixture(backendRecording: backendRecording, threads: threads, configure: configure)
        do {
            try await body(fixture)
        } catch {
            await fixture.stop()
            throw error
        }
        await fixture.stop()
    }
}

/// Polls `condition` every 10 ms until it holds or `limit` passes; whether it held.
func eventually(within limit: Duration = .seconds(30), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + limit
    while !condition() {
        guard ContinuousClock.now < deadline else { return false }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return true
}
