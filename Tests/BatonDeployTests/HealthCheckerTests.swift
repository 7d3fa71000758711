@testable import BatonDeploy
import Testing

@Suite struct HealthCheckerTests {
    @Test func intervalsDoubleFromTenMillisecondsUpToOneSecond() {
        let policy = HealthCheckPolicy()
        let intervals = (1...10).map { policy.interval(after: $0) }
        #expect(intervals == [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000].map { Duration.milliseconds($0) })
    }

    @Test func firstCheckRunsAtOnceWithoutSleeping() async throws {
        let clock = ManualClock()
        let checker = HealthChecker(policy: HealthCheckPolicy(), clock: clock)
        let report = try await checker.waitUntilHealthy(ScriptedProbe([.responded(status: 200)]))
        #expect(report.verdict == .healthy)
        #expect(report.attempts == 1)
        #expect(clock.sleeps.isEmpty)
        #expect(report.elapsed == .zero)
    }

    @Test func failingChecksBackOffToOneSecondAndStopAtTheTimeout() async throws {
        let clock = ManualClock()
        let checker = HealthChecker(policy: HealthCheckPolicy(timeout: .seconds(5)), clock: clock)
        let report = try await checker.waitUntilHealthy(ScriptedProbe([.responded(status: 503)]))
        #expect(report.verdict == .timedOut)
        #expect(report.lastResult == .responded(status: 503))
        #expect(report.elapsed == .seconds(5))
        // 10+20+…+640 ms = 1.27 s, then whole seconds, the last one cut to end at the deadline.
        let expected: [Duration] = [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000].map { .milliseconds($0) }
            + [.milliseconds(730)]
        #expect(clock.sleeps == expected)
        #expect(report.attempts == expected.count + 1)
    }

    @Test func slowStarterWithinTheTimeoutIsHealthy() async throws {
        let clock = ManualClock()
        let checker = HealthChecker(policy: HealthCheckPolicy(timeout: .seconds(30)), clock: clock)
        let report = try await checker.waitUntilHealthy(ScriptedProbe.healthy(after: 12, clock: clock))
        #expect(report.verdict == .healthy)
        #expect(report.attempts == 13)
        #expect(report.elapsed < .seconds(30))
        #expect(report.elapsed > .seconds(4))
    }

    @Test func onlyTheExpectedStatusCounts() async throws {
        let clock = ManualClock()
        let checker = HealthChecker(policy: HealthCheckPolicy(expectedStatus: 204, timeout: .seconds(2)), clock: clock)
        let report = try await checker.waitUntilHealthy(
            ScriptedProbe([.responded(status: 200), .responded(status: 500), .responded(status: 204)]))
        #expect(report.verdict == .healthy)
        #expect(report.attempts == 3)
    }

    @Test func probeTimeEatsIntoTheDeadline() async throws {
        let clock = ManualClock()
        let checker = HealthChecker(policy: HealthCheckPolicy(timeout: .seconds(3)), clock: clock)
        let report = try await checker.waitUntilHealthy(
            ScriptedProbe([.failed(reason: "no response within the attempt timeout")], clock: clock, checkTime: .seconds(2)))
        #expect(report.verdict == .timedOut)
        // 2 s check, 10 ms pause, 2 s check: past the 3 s deadline, so no third check.
        #expect(report.attempts == 2)
        #expect(report.elapsed == .seconds(4) + .milliseconds(10))
    }

    @Test func aProgramThatExitsEndsTheWaitAtOnce() async throws {
        let clock = ManualClock()
        let checker = HealthChecker(policy: HealthCheckPolicy(timeout: .seconds(30)), clock: clock)
        let report = try await checker.waitUntilHealthy(ScriptedProbe([.failed(reason: "refused")])) {
            "exited with status 1"
        }
        #expect(report.verdict == .exited(reason: "exited with status 1"))
        #expect(report.attempts == 1)
        #expect(clock.sleeps.isEmpty)
    }

    @Test func cancellationStopsTheWait() async throws {
        let checker = HealthChecker(policy: HealthCheckPolicy(timeout: .seconds(30)), clock: SystemDeployClock())
        let task = Task { try await checker.waitUntilHealthy(ScriptedProbe([.failed(reason: "refused")])) }
        try await Task.sleep(for: .milliseconds(30))
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
    }
}
