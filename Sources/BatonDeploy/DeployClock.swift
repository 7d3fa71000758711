import Foundation

/// Time as a deploy sees it: a monotonic reading for durations and deadlines, a wall clock for
/// records, and sleep. Injected so tests run health checks and drains in virtual time.
public protocol DeployClock: Sendable {
    /// Monotonic time since an arbitrary origin fixed for this clock.
    func now() -> Duration
    /// The wall-clock time, for timestamps in records.
    func date() -> Date
    /// Suspends for `duration`; throws `CancellationError` when the task is cancelled.
    func sleep(for duration: Duration) async throws
}

/// The real clock: `ContinuousClock` for durations and sleeps, `Date()` for timestamps.
public struct SystemDeployClock: DeployClock {
    private let origin = ContinuousClock.now

    public init() {}

    public func now() -> Duration { origin.duration(to: .now) }

    public func date() -> Date { Date() }

    public func sleep(for duration: Duration) async throws {
        try await Task.sleep(for: duration, clock: .continuous)
    }
}
