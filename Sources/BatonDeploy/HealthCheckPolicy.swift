/// When a sandbox counts as healthy and how often to ask.
///
/// The first check runs at once; then the interval starts at `firstInterval` and doubles up to
/// `maxInterval` (10 ms, 20 ms, 40 ms … 640 ms, 1 s, 1 s …), so an app that is up within
/// milliseconds is routed within milliseconds, while a slow starter is asked at most once a
/// second until `timeout`.
public struct HealthCheckPolicy: Sendable, Equatable {
    /// The HTTP status that means healthy.
    public var expectedStatus: Int
    /// How long green may take to become healthy, from the first check.
    public var timeout: Duration
    public var firstInterval: Duration
    public var maxInterval: Duration
    /// How long one check may take (connect, send, status line).
    public var attemptTimeout: Duration

    public init(expectedStatus: Int = 200, timeout: Duration = .seconds(30),
                firstInterval: Duration = .milliseconds(10), maxInterval: Duration = .seconds(1),
                attemptTimeout: Duration = .seconds(2)) {
        self.expectedStatus = expectedStatus
        self.timeout = timeout
        self.firstInterval = firstInterval
        self.maxInterval = maxInterval
        self.attemptTimeout = attemptTimeout
    }

    /// The pause after failed attempt number `attempt` (1-based).
    public func interval(after attempt: Int) -> Duration {
        var interval = firstInterval
        var step = 1
        while step < attempt && interval < maxInterval {
            interval *= 2
            step += 1
        }
        return min(interval, maxInterval)
    }
}
