@testable import BatonDeploy
import BatonOS
import Testing

/// Stop-first swaps over fakes: the hold, blue stopped before green starts, the release on
/// every way out, and blue started again when green fails.
@Suite struct StopFirstTests {
    typealias F = DeployFixture

    static let stopFirst = F.settings(strategy: .stopFirst(holdTimeout: .seconds(30)))

    /// Green answers as scripted; blue's digest (v1) always answers 200.
    static func fixture(green: [HealthResult]) -> DeployFixture {
        DeployFixture(probe: { sandbox, log, _ in
            ScriptedProbe(sandbox.digest == F.v1 ? [.responded(status: 200)] : green, log: log)
        })
    }

    @Test func holdsThenStopsBlueBeforeGreenStartsAndReleasesOnceGreenIsRouted() async throws {
        let fixture = Self.fixture(green: [.responded(status: 200)])
        fixture.serve("web", F.v1)
        let record = try await fixture.coordinator.deploy(app: "web", to: F.v2, settings: Self.stopFirst)
        #expect(fixture.log.all == [
            "begin web \(F.v1) \(F.v2)",
            "hold web 30.0 seconds", "phase held",
            "drain blue", "phase drained",
            "stop blue", "phase stopped",
            "start \(F.v2)", "phase started",
            "probe", "phase healthy",
            "route web sb-1", "release web", "phase routed",
            "finish succeeded",
        ])
        #expect(record.outcome == .succeeded)
        #expect(record.phases.map(\.phase) == [.held, .drained, .stopped, .started, .healthy, .routed])
        #expect(fixture.routes.current("web")?.id == "sb-1")
        #expect(fixture.runtime.running == ["sb-1"])
        #expect(fixture.holder.holding.isEmpty)
    }

    @Test func aGreenThatFailsBringsBlueBackAndReleasesTheHeldRequestsToIt() async throws {
        let fixture = Self.fixture(green: [.responded(status: 500)])
        fixture.serve("web", F.v1)
        let error = await batonError {
            _ = try await fixture.coordinator.deploy(app: "web", to: F.v2, settings: F.settings(
                healthTimeout: .seconds(2), strategy: .stopFirst(holdTimeout: .seconds(30))))
        }
        #expect(error?.code == .timeout)
        // While requests are held green is asked every 25 ms at most: 82 checks in 2 s, not 9.
        #expect(error?.message == "deploy of web to sha256:222222222222 failed: sb-1 did not answer 200 on /up port 8080"
            + " within 2s (82 checks, last check: answered 500); web serves sha256:111111111111 again on sb-2")
        #expect(error?.deployFailure?.logLines == fixture.runtime.logLines)
        let log = fixture.log.all
        let afterGreen = try #require(log.firstIndex(of: "stop sb-1"))
        #expect(Array(log[afterGreen...]) == [
            "stop sb-1", "start \(F.v1)", "probe", "route web sb-2", "phase restored", "release web", "finish failed",
        ])
        #expect(fixture.routes.current("web")?.id == "sb-2")
        #expect(fixture.runtime.running == ["sb-2"])
        #expect(fixture.holder.holding.isEmpty)
        let stored = try #require(fixture.recorder.all.first)
        #expect(stored.outcome == .failed)
        #expect(stored.reason?.hasSuffix("(82 checks, last check: answered 500); web serves sha256:111111111111 again on sb-2") == true,
                "\(stored.reason ?? "")")
        #expect(stored.phases.map(\.phase) == [.held, .drained, .stopped, .started, .restored])
    }

    @Test func whenBlueCannotComeBackEitherTheHoldIsStillReleased() async throws {
        let fixture = Self.fixture(green: [.responded(status: 500)])
        fixture.runtime.failStart(of: F.v1, with: BatonError(.notFound, "artifact sha256:111111111111 is not in the store"))
        fixture.serve("web", F.v1)
        let error = await batonError {
            _ = try await fixture.coordinator.deploy(app: "web", to: F.v2, settings: F.settings(
                healthTimeout: .seconds(1), strategy: .stopFirst(holdTimeout: .seconds(30))))
        }
        #expect(error?.message.hasSuffix("; web serves nothing: sha256:111111111111 could not be started again: artifact sha256:111111111111 is not in the store") == true,
                "\(error?.message ?? "")")
        #expect(fixture.log.all.suffix(2) == ["release web", "finish failed"])
        #expect(fixture.runtime.running.isEmpty)
        #expect(fixture.holder.holding.isEmpty)
    }

    @Test func aGreenThatCannotStartBringsBlueBack() async throws {
        let fixture = Self.fixture(green: [.responded(status: 200)])
        fixture.runtime.failStart(of: F.v2, with: BatonError(.notFound, "artifact sha256:222222222222 is not in the store"))
        fixture.serve("web", F.v1)
        let error = await batonError {
            _ = try await fixture.coordinator.deploy(app: "web", to: F.v2, settings: Self.stopFirst)
        }
        #expect(error?.code == .notFound)
        #expect(error?.message.hasSuffix("could not start: artifact sha256:222222222222 is not in the store; web serves sha256:111111111111 again on sb-1") == true,
                "\(error?.message ?? "")")
        #expect(fixture.routes.current("web")?.digest == F.v1)
        #expect(fixture.holder.holding.isEmpty)
    }

    @Test func aHoldThatCannotBeMadeLeavesBlueServingAndUntouched() async throws {
        let fixture = Self.fixture(green: [.responded(status: 200)])
        fixture.holder.refuseEveryHold()
        let blue = fixture.serve("web", F.v1)
        let error = await batonError {
            _ = try await fixture.coordinator.deploy(app: "web", to: F.v2, settings: Self.stopFirst)
        }
        #expect(error?.message == "deploy of web to sha256:222222222222 failed: could not hold the requests of web: the proxy is gone; web still serves sha256:111111111111")
        #expect(fixture.routes.current("web") == blue)
        #expect(fixture.runtime.stopped.isEmpty)
        #expect(!fixture.log.all.contains { $0.hasPrefix("drain") || $0.hasPrefix("start") })
    }

    @Test func aFirstDeployHasNothingToStopOrHold() async throws {
        let fixture = Self.fixture(green: [.responded(status: 200)])
        let record = try await fixture.coordinator.deploy(app: "web", to: F.v1, settings: Self.stopFirst)
        #expect(record.phases.map(\.phase) == [.started, .healthy, .routed])
        #expect(!fixture.log.all.contains { $0.hasPrefix("hold") })
    }

    @Test func stopFirstWithoutAHolderIsRefusedBeforeAnythingHappens() async throws {
        let log = CallLog()
        let runtime = FakeRuntime(log: log)
        let routes = FakeRoutes(log: log)
        let coordinator = SwapCoordinator(runtime: runtime, routes: routes, drainer: FakeDrainer(behavior: .drained, log: log),
                                          recorder: FakeRecorder(log: log))
        routes.set("web", to: runtime.adopt(id: "blue", app: "web", digest: F.v1))
        let error = await batonError {
            _ = try await coordinator.deploy(app: "web", to: F.v2, settings: Self.stopFirst)
        }
        #expect(error?.code == .invalidArgument)
        #expect(log.all.isEmpty)
    }

    @Test func aZeroHoldTimeoutIsRefused() async throws {
        let fixture = Self.fixture(green: [.responded(status: 200)])
        fixture.serve("web", F.v1)
        let error = await batonError {
            _ = try await fixture.coordinator.deploy(app: "web", to: F.v2, settings: F.settings(strategy: .stopFirst(holdTimeout: .zero)))
        }
        #expect(error?.code == .invalidArgument)
        #expect(fixture.runtime.stopped.isEmpty)
    }
}
