@testable import BatonDeploy
import BatonOS
import Synchronization
import Testing

/// The bake window over fakes and virtual time: green's figures come from a scripted traffic
/// watch, so each verdict is exact.
@Suite struct BakeWindowTests {
    typealias F = DeployFixture

    /// A coordinator over `fixture`'s fakes that also watches `traffic`.
    static func coordinator(_ fixture: DeployFixture, _ traffic: ScriptedTraffic) -> SwapCoordinator {
        SwapCoordinator(runtime: fixture.runtime, routes: fixture.routes, drainer: FakeDrainer(behavior: .drained, log: fixture.log),
                        recorder: fixture.recorder, holder: fixture.holder, clock: fixture.clock,
                        probe: { _, _ in ScriptedProbe([.responded(status: 200)]) }, traffic: traffic)
    }

    static func settings(bake seconds: Int) -> DeploySettings {
        var settings = F.settings()
        settings.bake = BakePolicy(window: .seconds(seconds))
        return settings
    }

    static let healthyBlue = TrafficFigures(seconds: 60, responses: 6000, serverErrors: 0, p99Milliseconds: 4)

    @Test func aCleanWindowKeepsBlueUntilItEndsThenStopsIt() async throws {
        let fixture = F()
        let traffic = ScriptedTraffic(blue: Self.healthyBlue) { _ in
            TrafficFigures(seconds: 1, responses: 100, serverErrors: 1, p99Milliseconds: 5)
        }
        let coordinator = Self.coordinator(fixture, traffic)
        fixture.serve("web", F.v1)
        let record = try await coordinator.deploy(app: "web", to: F.v2, settings: Self.settings(bake: 5))

        #expect(record.outcome == .succeeded)
        #expect(record.bake?.result == "clean")
        #expect(record.bake?.afterSeconds ?? 0 >= 5)
        #expect(record.bake?.blue == Self.healthyBlue)
        #expect(record.phases.map(\.phase) == [.started, .healthy, .routed, .baked, .drained, .stopped])
        // Blue was judged against, never routed again, and stopped only after the window.
        #expect(fixture.log.all.filter { $0.hasPrefix("route") } == ["route web sb-1"])
        #expect(fixture.runtime.stopped == ["blue"])
        #expect(traffic.greenReads >= 4)
    }

    @Test func greenAnswering5xxIsRolledBackInOneFlipAndStopped() async throws {
        let fixture = F()
        // From its third second on, half of green's answers are 5xx.
        let traffic = ScriptedTraffic(blue: Self.healthyBlue) { second in
            TrafficFigures(seconds: 1, responses: 100, serverErrors: second >= 3 ? 50 : 0, p99Milliseconds: 5)
        }
        let coordinator = Self.coordinator(fixture, traffic)
        let blue = fixture.serve("web", F.v1)
        let error = await batonError {
            _ = try await coordinator.deploy(app: "web", to: F.v2, settings: Self.settings(bake: 30))
        }
        let record = try #require(error?.deployFailure?.record)
        #expect(record.outcome == .rolledBack)
        #expect(record.reason?.contains("50 of 100 requests with 5xx") == true, "\(record.reason ?? "")")
        #expect(record.bake?.trigger == "5xx")
        #expect(record.bake?.green?.serverErrors == 50)
        #expect((record.bake?.afterSeconds ?? 99) < 30)
        #expect(record.bake?.flipBackMilliseconds != nil)
        #expect(record.phases.map(\.phase) == [.started, .healthy, .routed, .reverted, .drained, .stopped])
        // Back on blue without a start; green drained and stopped; blue still runs.
        #expect(fixture.routes.current("web") == blue)
        #expect(fixture.log.all.filter { $0.hasPrefix("route") || $0.hasPrefix("start") || $0.hasPrefix("stop") }
                == ["start \(F.v2)", "route web sb-1", "route web blue", "stop sb-1"])
        #expect(fixture.runtime.running == ["blue"])
        #expect(await coordinator.status(of: "web") == nil)
    }

    @Test func slowGreenIsRolledBackOnItsP99() async throws {
        let fixture = F()
        let traffic = ScriptedTraffic(blue: Self.healthyBlue) { _ in
            TrafficFigures(seconds: 1, responses: 100, serverErrors: 0, p99Milliseconds: 40)
        }
        let coordinator = Self.coordinator(fixture, traffic)
        fixture.serve("web", F.v1)
        let error = await batonError {
            _ = try await coordinator.deploy(app: "web", to: F.v2, settings: Self.settings(bake: 30))
        }
        #expect(error?.deployFailure?.record?.outcome == .rolledBack)
        #expect(error?.deployFailure?.record?.bake?.trigger == "p99")
    }

    @Test func fewResponsesAndSmallP99DifferencesAreNoVerdict() {
        let policy = BakePolicy(window: .seconds(10))
        // 5 of 5 failed is too few to judge; 3 ms against 1 ms is under the 5 ms slack.
        #expect(policy.verdict(green: TrafficFigures(seconds: 1, responses: 5, serverErrors: 5), blue: Self.healthyBlue) == nil)
        #expect(policy.verdict(green: TrafficFigures(seconds: 1, responses: 100, p99Milliseconds: 3),
                               blue: TrafficFigures(seconds: 60, responses: 100, p99Milliseconds: 1)) == nil)
        #expect(policy.verdict(green: TrafficFigures(seconds: 1, responses: 100, serverErrors: 2), blue: Self.healthyBlue)?.kind == .serverErrors)
        #expect(policy.verdict(green: TrafficFigures(seconds: 1, responses: 100, serverErrors: 1), blue: Self.healthyBlue) == nil)
    }

    /// 5xx blue gave too (a path that fails in both versions) are not green's regression: the
    /// limit is points above blue's share before the flip.
    @Test func the5xxLimitIsPointsAboveBluesOwnShare() {
        let policy = BakePolicy(window: .seconds(10))
        let flakyBlue = TrafficFigures(seconds: 60, responses: 6000, serverErrors: 300, p99Milliseconds: 4)
        #expect(policy.verdict(green: TrafficFigures(seconds: 1, responses: 1000, serverErrors: 55), blue: flakyBlue) == nil)
        let worse = policy.verdict(green: TrafficFigures(seconds: 1, responses: 1000, serverErrors: 70), blue: flakyBlue)
        #expect(worse?.kind == .serverErrors)
        #expect(worse?.reason.contains("7.0% > blue's 5.0% + 1.0%") == true, "\(worse?.reason ?? "")")
    }

    @Test func greenExitingInTheWindowIsRolledBack() async throws {
        let fixture = F()
        let traffic = ScriptedTraffic(blue: Self.healthyBlue) { second in
            if second >= 2 { fixture.runtime.exitEverySandbox(reason: "exited with status 3") }
            return TrafficFigures(seconds: 1, responses: 100, serverErrors: 0, p99Milliseconds: 5)
        }
        let coordinator = Self.coordinator(fixture, traffic)
        let blue = fixture.serve("web", F.v1)
        let error = await batonError {
            _ = try await coordinator.deploy(app: "web", to: F.v2, settings: Self.settings(bake: 30))
        }
        let record = try #require(error?.deployFailure?.record)
        #expect(record.outcome == .rolledBack)
        #expect(record.bake?.trigger == "green exited")
        #expect(fixture.routes.current("web") == blue)
    }

    @Test func rollbackDuringTheWindowFlipsBackWithoutStartingASandbox() async throws {
        let fixture = F()
        let gate = Gate()
        let traffic = ScriptedTraffic(blue: Self.healthyBlue, gate: gate) { _ in
            TrafficFigures(seconds: 1, responses: 100, serverErrors: 0, p99Milliseconds: 5)
        }
        let coordinator = Self.coordinator(fixture, traffic)
        let blue = fixture.serve("web", F.v1)
        let deploy = Task { try await coordinator.deploy(app: "web", to: F.v2, settings: Self.settings(bake: 60)) }
        // The window's first judgement waits at the gate: the window is open.
        try await waitUntil { traffic.greenReads == 1 }
        #expect(await coordinator.status(of: "web")?.blueState == .baking)
        #expect(fixture.routes.current("web")?.id == "sb-1")

        let rollback = Task { try await coordinator.rollback(app: "web", settings: F.settings()) }
        // Traffic is back on blue before the window goes on.
        try await waitUntil { fixture.routes.current("web") == blue }
        gate.open()
        let record = try await rollback.value
        #expect(record.outcome == .rolledBack)
        #expect(record.bake?.trigger == "rollback requested")
        #expect(record.bake?.flipBackMilliseconds != nil)
        let deployError = await batonError { _ = try await deploy.value }
        #expect(deployError?.deployFailure?.record?.id == record.id)
        // One start (green's), one flip back, green stopped.
        #expect(fixture.log.all.filter { $0.hasPrefix("start") } == ["start \(F.v2)"])
        #expect(fixture.runtime.running == ["blue"])
    }
}

/// Blue's baseline, and green's figures by whole second since the first read; `gate` holds
/// green's first read until opened.
final class ScriptedTraffic: TrafficWatch {
    private let blue: TrafficFigures
    private let green: @Sendable (Int) -> TrafficFigures
    private let gate: Gate?
    private let reads = Mutex(0)

    init(blue: TrafficFigures, gate: Gate? = nil, green: @escaping @Sendable (Int) -> TrafficFigures) {
        self.blue = blue
        self.gate = gate
        self.green = green
    }

    var greenReads: Int { reads.withLock { $0 } }

    func traffic(of sandbox: SandboxHandle, lastSeconds seconds: Int) async -> TrafficFigures? {
        if sandbox.id == "blue" { return blue }
        let read = reads.withLock { reads in
            reads += 1
            return reads
        }
        if read == 1, let gate { await gate.wait() }
        return green(read)
    }
}
