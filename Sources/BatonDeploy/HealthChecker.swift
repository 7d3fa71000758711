/// How waiting for health ended.
public struct HealthReport: Sendable, Equatable {
    public enum Verdict: Sendable, Equatable {
        case healthy
        /// The timeout passed without the expected status.
        case timedOut
        /// The sandbox's program ended while being checked.
        case exited(reason: String)
    }

    public let verdict: Verdict
    public let attempts: Int
    public let elapsed: Duration
    /// The last check's result, nil if none ran.
    public let lastResult: HealthResult?
}

/// Checks a sandbox until it answers the expected status or the policy's timeout passes.
public struct HealthChecker: Sendable {
    public let policy: HealthCheckPolicy
    private let clock: any DeployClock

    public init(policy: HealthCheckPolicy = HealthCheckPolicy(), clock: any DeployClock = SystemDeployClock()) {
        self.policy = policy
        self.clock = clock
    }

    /// Checks with `probe` at once, then at growing intervals, until healthy, timed out, or
    /// `exitReason` reports the program gone. `onAttempt` sees each check's number and result.
    /// Throws only `CancellationError`.
    public func waitUntilHealthy(
        _ probe: any HealthProbe,
        exitReason: @Sendable () async -> String? = { nil },
        onAttempt: (Int, HealthResult) -> Void = { _, _ in }
    ) async throws -> HealthReport {
        let start = clock.now()
        var attempts = 0
        while true {
            try Task.checkCancellation()
            attempts += 1
            let remaining = policy.timeout - (clock.now() - start)
            // The last attempt may start at the deadline; give it a sliver rather than nothing.
            let result = await probe.check(timeout: max(min(policy.attemptTimeout, remaining), .milliseconds(50)))
            onAttempt(attempts, result)
            if result == .responded(status: policy.expectedStatus) {
                return HealthReport(verdict: .healthy, attempts: attempts, elapsed: clock.now() - start, lastResult: result)
            }
            if let reason = await exitReason() {
                return HealthReport(verdict: .exited(reason: reason), attempts: attempts,
                                    elapsed: clock.now() - start, lastResult: result)
            }
            let elapsed = clock.now() - start
            if elapsed >= policy.timeout {
                return HealthReport(verdict: .timedOut, attempts: attempts, elapsed: elapsed, lastResult: result)
            }
            try await clock.sleep(for: min(policy.interval(after: attempts), policy.timeout - elapsed))
        }
    }
}
