@testable import BatonDeploy
import BatonOS
import Synchronization
import Testing

@Suite struct SwapCoordinatorTests {
    typealias F = DeployFixture

    @Test func successfulSwapStartsChecksRoutesDrainsThenStopsBlue() async throws {
        let fixture = DeployFixture()
        fixture.serve("web", F.v1)
        let record = try await fixture.coordinator.deploy(app: "web", to: F.v2, settings: F.settings())
        #expect(fixture.log.all == [
            "begin web \(F.v1) \(F.v2)",
            "start \(F.v2)", "phase started",
            "probe", "phase healthy",
            "route web sb-1", "phase routed",
            "drain blue", "phase drained",
            "stop blue", "phase stopped",
            "finish succeeded",
        ])
        #expect(record.outcome == .succeeded)
        #expect(record.fromDigest == F.v1 && record.toDigest == F.v2)
        #expect(fixture.routes.current("web")?.id == "sb-1")
        #expect(fixture.runtime.running == ["sb-1"])
        #expect(await fixture.coordinator.status(of: "web") == nil)
    }

    @Test func firstDeployHasNoBlueToDrainOrStop() async throws {
        let fixture = DeployFixture()
        let record = try await fixture.coordinator.deploy(app: "web", to: F.v1, settings: F.settings())
        #expect(record.fromDigest == nil)
        #expect(record.phases.map(\.phase) == [.started, .healthy, .routed])
        #expect(fixture.routes.current("web")?.digest == F.v1)
    }

    @Test func phasesAreRecordedInOrderWithTheirDurations() async throws {
        let fixture = DeployFixture(
            startTime: .milliseconds(250), stopTime: .milliseconds(70),
            drainer: { log, clock in FakeDrainer(behavior: .takes(.milliseconds(40), clock: clock), log: log) },
            probe: { _, _, clock in ScriptedProbe.healthy(after: 1, clock: clock, checkTime: .milliseconds(100)) })
        fixture.serve("web", F.v1)
        let events = Mutex<[DeployEvent]>([])
        let record = try await fixture.coordinator.deploy(app: "web", to: F.v2, settings: F.settings()) { event in
            events.withLock { $0.append(event) }
        }
        #expect(record.phases.map(\.phase) == [.started, .healthy, .routed, .drained, .stopped])
        // healthy: a 100 ms failed check, a 10 ms pause, a 100 ms good check.
        #expect(record.phases.map(\.duration) == [250, 210, 0, 40, 70].map { Duration.milliseconds($0) })
        #expect(record.phases.map(\.completedAt) == record.phases.map(\.completedAt).sorted())
        let stored = try #require(fixture.recorder.all.first)
        #expect(stored.phases == record.phases)
        #expect(stored.outcome == .succeeded)
        let seen = events.withLock { $0 }
        #expect(seen.first == .began(deployment: 1, from: F.v1, to: F.v2))
        #expect(seen.dropFirst().dropLast() == ArraySlice([
            .completed(record.phases[0]),
            .healthChecked(attempt: 1, result: .failed(reason: "connect 127.0.0.1:8080: Connection refused")),
            .healthChecked(attempt: 2, result: .responded(status: 200)),
        ] + record.phases.dropFirst().map { DeployEvent.completed($0) }))
        #expect(seen.last == .finished(outcome: .succeeded, reason: nil))
    }

    @Test func failingHealthCheckLeavesBlueRoutedAndStopsGreen() async throws {
        let fixture = DeployFixture(probe: { _, _, _ in ScriptedProbe([.responded(status: 503)]) })
        let blue = fixture.serve("web", F.v1)
        let error = await batonError {
            _ = try await fixture.coordinator.deploy(app: "web", to: F.v2, settings: F.settings(healthTimeout: .seconds(3)))
        }
        let failure = try #require(error?.deployFailure)
        #expect(error?.code == .timeout)
        #expect(error?.message == "deploy of web to sha256:222222222222 failed: sb-1 did not answer 200 on /up port 8080"
            + " within 3s (10 checks, last check: answered 503); web still serves sha256:111111111111")
        #expect(failure.logLines == fixture.runtime.logLines)
        #expect(failure.sandboxID == "sb-1")
        #expect(fixture.routes.current("web") == blue)
        #expect(fixture.runtime.running == ["blue"])
        #expect(fixture.runtime.stopped == ["sb-1"])
        #expect(!fixture.log.all.contains { $0.hasPrefix("route") || $0.hasPrefix("drain") })
        let stored = try #require(fixture.recorder.all.first)
        #expect(stored.outcome == .failed)
        #expect(stored.phases.map(\.phase) == [.started])
        #expect(fixture.clock.now() == .seconds(3))
    }

    @Test func slowStarterInsideTheTimeoutIsRouted() async throws {
        let fixture = DeployFixture(probe: { _, _, _ in ScriptedProbe.healthy(after: 9) })
        fixture.serve("web", F.v1)
        let record = try await fixture.coordinator.deploy(app: "web", to: F.v2, settings: F.settings(healthTimeout: .seconds(5)))
        #expect(record.outcome == .succeeded)
        #expect(record.phases[1].detail == "10 checks")
        #expect(fixture.routes.current("web")?.digest == F.v2)
    }

    @Test func greenThatCrashesFailsAtOnceInsteadOfAtTheTimeout() async throws {
        let fixture = DeployFixture(probe: { _, _, _ in ScriptedProbe([.failed(reason: "refused")]) })
        fixture.runtime.exitEverySandbox(reason: "exited with status 1")
        fixture.serve("web", F.v1)
        let error = await batonError {
            _ = try await fixture.coordinator.deploy(app: "web", to: F.v2, settings: F.settings(healthTimeout: .seconds(30)))
        }
        #expect(error?.code == .setupFailed)
        #expect(error?.message.contains("the new sandbox sb-1 exited during its health check: exited with status 1") == true)
        #expect(fixture.clock.now() == .zero)
        #expect(fixture.routes.current("web")?.id == "blue")
    }

    @Test func greenThatCannotStartLeavesBlueServing() async throws {
        let fixture = DeployFixture()
        fixture.runtime.failStart(of: F.v2, with: BatonError(.notFound, "artifact sha256:222222222222 is not in the store"))
        fixture.serve("web", F.v1)
        let error = await batonError {
            _ = try await fixture.coordinator.deploy(app: "web", to: F.v2, settings: F.settings())
        }
        #expect(error?.code == .notFound)
        #expect(error?.message == "deploy of web to sha256:222222222222 failed: could not start: artifact sha256:222222222222"
            + " is not in the store; web still serves sha256:111111111111")
        #expect(error?.deployFailure?.sandboxID == nil)
        #expect(fixture.routes.current("web")?.id == "blue")
        #expect(fixture.runtime.stopped.isEmpty)
        #expect(fixture.recorder.all.first?.outcome == .failed)
    }

    @Test func failedRouteInstallStopsGreenAndKeepsBlue() async throws {
        let fixture = DeployFixture()
        fixture.routes.failEveryInstall()
        fixture.serve("web", F.v1)
        let error = await batonError {
            _ = try await fixture.coordinator.deploy(app: "web", to: F.v2, settings: F.settings())
        }
        #expect(error?.message.contains("could not route to green: route table is read-only") == true)
        #expect(fixture.routes.current("web")?.id == "blue")
        #expect(fixture.runtime.running == ["blue"])
        #expect(fixture.runtime.stopped == ["sb-1"])
    }

    @Test func drainThatOverrunsItsDeadlineIsCutAndBlueIsStopped() async throws {
        let fixture = DeployFixture(drainer: { log, _ in FakeDrainer(behavior: .neverFinishes, log: log) })
        fixture.serve("web", F.v1)
        let deploy = Task {
            try await fixture.coordinator.deploy(app: "web", to: F.v2, settings: F.settings(drainTimeout: .seconds(30)))
        }
        try await fixture.clock.waitForSleepers()
        // Just short of the deadline, blue must still be draining.
        fixture.clock.advance(by: .seconds(29))
        #expect(fixture.runtime.running.contains("blue"))
        #expect(await fixture.coordinator.status(of: "web")?.blueState == .draining)
        fixture.clock.advance(by: .seconds(1))
        let record = try await deploy.value
        let drained = try #require(record.phases.first { $0.phase == .drained })
        #expect(drained.duration == .seconds(30))
        #expect(drained.detail == "drain timeout of 30s passed with requests in flight")
        #expect(fixture.runtime.stopped == ["blue"])
        #expect(record.outcome == .succeeded)
    }

    @Test func invalidSettingsStartNothing() async throws {
        let fixture = DeployFixture()
        var settings = F.settings()
        settings.healthPath = "up"
        let error = await batonError {
            _ = try await fixture.coordinator.deploy(app: "web", to: F.v1, settings: settings)
        }
        #expect(error?.code == .invalidArgument)
        #expect(fixture.log.all.isEmpty)
    }

    @Test func cancelledDeployStopsGreenAndIsRecordedInterrupted() async throws {
        let gate = Gate()
        let fixture = DeployFixture(probe: { _, log, _ in ScriptedProbe([.failed(reason: "refused")], gate: gate, log: log) })
        fixture.serve("web", F.v1)
        let deploy = Task { try await fixture.coordinator.deploy(app: "web", to: F.v2, settings: F.settings()) }
        try await waitUntil { fixture.log.all.contains("probe") }
        deploy.cancel()
        gate.open()
        let error = await batonError { _ = try await deploy.value }
        #expect(error?.code == .unavailable)
        #expect(fixture.recorder.all.first?.outcome == .interrupted)
        #expect(fixture.runtime.stopped == ["sb-1"])
        #expect(fixture.routes.current("web")?.id == "blue")
    }
}

/// Polls `condition` in real time for up to 30 s: a liveness bound, not a speed check. The
/// cooperative pool is shared with every suite of the run, some of which block its two threads
/// for a while, so a coordinator stepping through a bake window's ticks can take seconds.
func waitUntil(_ condition: () async -> Bool) async throws {
    let limit = ContinuousClock.now + .seconds(30)
    while !(await condition()) {
        guard ContinuousClock.now < limit else { throw TestTimeout("condition not met within 30s") }
        try await Task.sleep(for: .milliseconds(1))
    }
}
