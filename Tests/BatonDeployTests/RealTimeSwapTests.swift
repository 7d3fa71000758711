@testable import BatonDeploy
import BatonOS
import BatonTestSupport
import Synchronization
import Testing

/// The coordinator on the real clock with the real HTTP probe against a server on 127.0.0.1.
/// (How closely the swap follows readiness is measured by `scripts/bench swap`, not asserted.)
@Suite struct RealTimeSwapTests {
    typealias F = DeployFixture

    /// A coordinator with fakes around it, blue serving v1, probing for real over HTTP.
    static func coordinatorWithBlueServing() -> (SwapCoordinator, FakeRoutes) {
        let log = CallLog()
        let runtime = FakeRuntime(log: log)
        let routes = FakeRoutes(log: log)
        routes.set("web", to: runtime.adopt(id: "blue", app: "web", digest: F.v1))
        let coordinator = SwapCoordinator(
            runtime: runtime, routes: routes, drainer: FakeDrainer(behavior: .drained, log: log),
            recorder: FakeRecorder(log: log),
            probe: { _, settings in HTTPHealthProbe.loopback(port: settings.port, path: settings.healthPath) })
        return (coordinator, routes)
    }

    @Test func swapRoutesOnceTheAppStartsToAnswer() async throws {
        let reserved = try ReservedPort()
        let port = reserved.port
        let server = Mutex<TinyHTTPServer?>(nil)
        defer { server.withLock { $0?.stop() } }
        let (coordinator, routes) = Self.coordinatorWithBlueServing()

        // The app starts answering 300 ms after green starts.
        let opener = Task {
            try await Task.sleep(for: .milliseconds(300))
            let started = try TinyHTTPServer(listeningOn: reserved, reply: .send("HTTP/1.1 200 OK\r\n\r\n"))
            server.withLock { $0 = started }
            return ContinuousClock.now
        }
        let began = ContinuousClock.now
        let record = try await coordinator.deploy(
            app: "web", to: F.v2,
            settings: DeploySettings(port: port, healthPath: "/up", health: HealthCheckPolicy(timeout: .seconds(60))))
        _ = try await opener.value

        #expect(record.outcome == .succeeded)
        #expect(routes.current("web")?.digest == F.v2)
        #expect(ContinuousClock.now - began >= .milliseconds(300))
        #expect(server.withLock { $0?.requests.first?.hasPrefix("GET /up HTTP/1.1\r\n") } == true)
    }

    @Test func appThatNeverAnswersFailsAtTheRealTimeout() async throws {
        let reserved = try ReservedPort()
        let port = reserved.port
        let (coordinator, routes) = Self.coordinatorWithBlueServing()
        let began = ContinuousClock.now
        let error = await batonError {
            _ = try await coordinator.deploy(
                app: "web", to: F.v2,
                settings: DeploySettings(port: port, health: HealthCheckPolicy(timeout: .milliseconds(500))))
        }
        let took = ContinuousClock.now - began
        #expect(error?.code == .timeout)
        #expect(error?.message.contains("Connection refused") == true)
        #expect(took >= .milliseconds(500))
        #expect(routes.current("web")?.id == "blue")
        withExtendedLifetime(reserved) {}
    }
}
