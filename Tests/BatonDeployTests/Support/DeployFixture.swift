@testable import BatonDeploy
import BatonOS
import Testing

/// One coordinator over fakes that share a call log and a virtual clock.
struct DeployFixture {
    let log = CallLog()
    let clock = ManualClock()
    let runtime: FakeRuntime
    let routes: FakeRoutes
    let recorder: FakeRecorder
    let holder: FakeHolder
    let coordinator: SwapCoordinator

    static let v1 = "sha256:" + String(repeating: "1", count: 64)
    static let v2 = "sha256:" + String(repeating: "2", count: 64)
    static let v3 = "sha256:" + String(repeating: "3", count: 64)

    /// `probe` makes each green's probe; `drainer` says how blue drains.
    init(startTime: Duration = .zero, stopTime: Duration = .zero,
         drainer: ((CallLog, ManualClock) -> FakeDrainer)? = nil,
         probe: @escaping @Sendable (SandboxHandle, CallLog, ManualClock) -> any HealthProbe = { _, log, _ in
             ScriptedProbe([.responded(status: 200)], log: log)
         }) {
        runtime = FakeRuntime(log: log, clock: clock, startTime: startTime, stopTime: stopTime)
        routes = FakeRoutes(log: log)
        recorder = FakeRecorder(log: log)
        holder = FakeHolder(log: log)
        let log = self.log
        let clock = self.clock
        coordinator = SwapCoordinator(
            runtime: runtime, routes: routes,
            drainer: drainer?(log, clock) ?? FakeDrainer(behavior: .drained, log: log),
            recorder: recorder, holder: holder, clock: clock,
            probe: { sandbox, _ in probe(sandbox, log, clock) })
    }

    /// Settings with a short health timeout so failing tests stay small in virtual time.
    static func settings(healthTimeout: Duration = .seconds(5), drainTimeout: Duration = .seconds(30),
                         strategy: SwapStrategy = .blueGreen) -> DeploySettings {
        DeploySettings(port: 8080, healthPath: "/up", health: HealthCheckPolicy(timeout: healthTimeout),
                       drainTimeout: drainTimeout, stopGrace: .seconds(1), strategy: strategy)
    }

    /// Makes `digest` the app's serving sandbox, as if deployed before this test.
    @discardableResult
    func serve(_ app: String, _ digest: String, id: String = "blue") -> SandboxHandle {
        let blue = runtime.adopt(id: id, app: app, digest: digest)
        routes.set(app, to: blue)
        return blue
    }
}

/// Runs `body` and returns the BatonError it throws, or nil if it throws none.
func batonError(_ body: () async throws -> Void) async -> BatonError? {
    do {
        try await body()
        return nil
    } catch let error as BatonError {
        return error
    } catch {
        Issue.record("expected a BatonError, got \(error)")
        return nil
    }
}
