import BatonOS

/// The settings of an app's sandbox of `digest` at configuration version `configVersion` (nil:
/// the app's current one).
public typealias SettingsLookup = @Sendable (_ digest: String, _ configVersion: Int64?) throws -> DeploySettings

/// How one app is deployed: where its health check is, how long each phase may take.
public struct DeploySettings: Sendable, Equatable {
    /// The port the app listens on inside its sandbox.
    public var port: Int
    /// The health check's request path, e.g. `/up`.
    public var healthPath: String
    public var health: HealthCheckPolicy
    /// How long blue's in-flight requests may take to finish after the route moves.
    public var drainTimeout: Duration
    /// Between SIGTERM and SIGKILL when a sandbox is stopped.
    public var stopGrace: Duration
    /// How many of green's last log lines a failed deploy reports.
    public var logLineCount: Int
    public var strategy: SwapStrategy
    /// The version of the app's configuration green starts with, recorded with the deployment
    /// (nil where the runtime keeps no versions).
    public var configVersion: Int64?
    /// The app speaks HTTP/2 without TLS on its port (`--upstream-protocol h2c`): so does its
    /// health check.
    public var h2c = false
    /// longlived: how long blue's WebSocket tunnels and event streams may run on after the
    /// flip before Baton ends them (nil: the drain timeout).
    public var drainLongTimeout: Duration? = nil
    /// Smoke part: the checks green must pass between healthy and the flip (none: no gate).
    public var smoke = SmokeGate()
    /// Bake (part 3): the bake window after the flip; nil or a zero window: blue is retired at once.
    public var bake: BakePolicy?

    public init(port: Int, healthPath: String = "/", health: HealthCheckPolicy = HealthCheckPolicy(),
                drainTimeout: Duration = .seconds(30), stopGrace: Duration = .seconds(10), logLineCount: Int = 20,
                strategy: SwapStrategy = .blueGreen, configVersion: Int64? = nil) {
        self.port = port
        self.healthPath = healthPath
        self.health = health
        self.drainTimeout = drainTimeout
        self.stopGrace = stopGrace
        self.logLineCount = logLineCount
        self.strategy = strategy
        self.configVersion = configVersion
    }

    /// How long long-lived connections may run on blue after the flip: never less than the
    /// drain timeout of ordinary requests.
    public var longDrainTimeout: Duration { max(drainTimeout, drainLongTimeout ?? drainTimeout) }

    /// These settings for any digest, at whichever configuration version is asked for: for
    /// callers whose settings do not depend on the artifact.
    public var forAnyDigest: SettingsLookup {
        { _, version in
            var chosen = self
            if let version { chosen.configVersion = version }
            return chosen
        }
    }

    /// The settings if they make sense; otherwise a BatonError naming the bad one.
    public func validated() throws(BatonError) -> DeploySettings {
        guard (1...65535).contains(port) else {
            throw BatonError(.invalidArgument, "port \(port) is out of range: use 1-65535")
        }
        guard healthPath.hasPrefix("/"), !healthPath.contains(where: { $0.isWhitespace || $0.isNewline }) else {
            throw BatonError(.invalidArgument, "health path '\(healthPath)' must start with / and contain no spaces")
        }
        guard (100...599).contains(health.expectedStatus) else {
            throw BatonError(.invalidArgument, "health status \(health.expectedStatus) is not an HTTP status: use 100-599")
        }
        guard health.timeout > .zero, health.attemptTimeout > .zero, health.firstInterval > .zero,
              health.maxInterval >= health.firstInterval
        else {
            throw BatonError(.invalidArgument, "health timeout and intervals must be positive")
        }
        guard drainTimeout >= .zero, stopGrace >= .zero, logLineCount >= 0, (drainLongTimeout ?? .zero) >= .zero else {
            throw BatonError(.invalidArgument, "drain timeouts, stop grace and log line count must not be negative")
        }
        if h2c && !smoke.checks.isEmpty {
            throw BatonError(.invalidArgument, "smoke checks speak HTTP/1.1 and the app speaks h2c: remove them with 'baton app set APP --no-smoke'")
        }
        if let bake { _ = try bake.validated() }
        if case .stopFirst(let hold) = strategy, hold <= .zero {
            throw BatonError(.invalidArgument, "the hold timeout of a stop-first deploy must be positive")
        }
        return self
    }
}
