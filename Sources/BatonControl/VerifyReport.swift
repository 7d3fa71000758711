import FoundationEssentials

/// `baton deploy --verify`: what the daemon's synthetic load through its own proxy saw across
/// one swap. Stored with the deployment (`history --json`), printed by `deploy`, drawn by
/// `--report FILE.svg`. Times are seconds since the load started.
public struct VerifyReport: Codable, Sendable, Equatable {
    /// The path requested and the rate asked for (requests per second).
    public var path: String
    public var rate: Int
    /// When the load started (UTC timestamp) and how long it sent requests (the responses to
    /// the last ones may come later).
    public var startedAt: String
    public var seconds: Double
    /// When traffic moved to green, and when blue was stopped (nil: no blue, or it never happened).
    public var flipAt: Double?
    public var blueStoppedAt: Double?
    /// When traffic went back to blue (a bake window's rollback), nil when it did not.
    public var flipBackAt: Double? = nil
    /// Requests sent, and those that got no HTTP response (connect refused, reset, timeout).
    public var requests: Int
    public var failed: Int
    /// Responses whose status was not 2xx.
    public var non2xx: Int
    /// Latency before the flip, between the flip and blue's stop (or the flip back), and after it.
    public var before: VerifyLatency
    public var during: VerifyLatency
    public var after: VerifyLatency
    /// Latency of every response of the run.
    public var all: VerifyLatency
    /// The sandboxes that answered, with their digests.
    public var versions: [VerifyVersion]
    /// One entry per second of the run.
    public var timeline: [VerifySecond]
    /// The first few failures, each with its time and what went wrong.
    public var failures: [String]

    public init(path: String, rate: Int, startedAt: String, seconds: Double, flipAt: Double?, blueStoppedAt: Double?,
                requests: Int, failed: Int, non2xx: Int, before: VerifyLatency, during: VerifyLatency, after: VerifyLatency, all: VerifyLatency,
                versions: [VerifyVersion], timeline: [VerifySecond], failures: [String]) {
        self.path = path
        self.rate = rate
        self.startedAt = startedAt
        self.seconds = seconds
        self.flipAt = flipAt
        self.blueStoppedAt = blueStoppedAt
        self.requests = requests
        self.failed = failed
        self.non2xx = non2xx
        self.before = before
        self.during = during
        self.after = after
        self.all = all
        self.versions = versions
        self.timeline = timeline
        self.failures = failures
    }

    /// The defaults and bounds of `--verify-rate`.
    public static let defaultRate = 200
    public static let maxRate = 2000
}

/// Requests in one stretch of a run and their latency percentiles (milliseconds; nil when none).
public struct VerifyLatency: Codable, Sendable, Equatable {
    public var requests: Int
    public var p50: Double?
    public var p99: Double?

    public init(requests: Int, p50: Double?, p99: Double?) {
        self.requests = requests
        self.p50 = p50
        self.p99 = p99
    }
}

/// A sandbox that answered: `blue` (served before) or `green` (the new one).
public struct VerifyVersion: Codable, Sendable, Equatable {
    public var role: String
    public var sandbox: String
    public var digest: String

    public init(role: String, sandbox: String, digest: String) {
        self.role = role
        self.sandbox = sandbox
        self.digest = digest
    }
}

/// One second of a run: responses by the role that answered (`blue`, `green`; `other` for a
/// response no known sandbox gave, e.g. the proxy's own 503), failures, non-2xx, p99 (ms).
public struct VerifySecond: Codable, Sendable, Equatable {
    public var second: Int
    public var answered: [String: Int]
    public var failed: Int
    public var non2xx: Int
    public var p99: Double?

    public init(second: Int, answered: [String: Int], failed: Int, non2xx: Int, p99: Double?) {
        self.second = second
        self.answered = answered
        self.failed = failed
        self.non2xx = non2xx
        self.p99 = p99
    }
}
