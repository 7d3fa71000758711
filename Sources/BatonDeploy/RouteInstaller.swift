/// The route table as BatonDeploy sees it: which sandbox serves an app, and a way to change
/// that in one step. The daemon implements it over the proxy's route table and the state
/// database.
public protocol RouteInstaller: Sendable {
    /// The sandbox serving `app` now (blue), or nil if none does.
    func serving(app: String) async throws -> SandboxHandle?

    /// Points every host of `app` at `sandbox` in one atomic step and persists it: a request
    /// sees the old route or the new one, never neither. Throws with nothing changed if it
    /// cannot.
    func install(app: String, sandbox: SandboxHandle) async throws
}

/// Waits for the requests in flight on a sandbox that no longer receives new ones.
public protocol TrafficDrainer: Sendable {
    /// Returns true once no request is in flight on `sandbox`, false when `timeout` passes
    /// first. Must return promptly when the calling task is cancelled (the coordinator also
    /// enforces the timeout and cancels a drain that overruns it).
    func drain(_ sandbox: SandboxHandle, timeout: Duration) async -> Bool
}

/// What draining blue came to, with its long-lived connections (WebSocket tunnels, event
/// streams) counted.
public struct DrainOutcome: Sendable, Equatable {
    public var drained: Bool
    /// Nil when the drainer does not tell long-lived connections apart.
    public var longLived: LongLivedCounts?

    public init(drained: Bool, longLived: LongLivedCounts? = nil) {
        self.drained = drained
        self.longLived = longLived
    }
}

extension TrafficDrainer {
    /// Drains ordinary requests up to `timeout` and long-lived connections up to `longTimeout`,
    /// then has them ended. A drainer that does not tell them apart drains all up to `timeout`.
    public func drain(_ sandbox: SandboxHandle, timeout: Duration, longTimeout: Duration) async -> DrainOutcome {
        if let drainer = self as? any LongLivedDrainer {
            return await drainer.drainLongLived(sandbox, timeout: timeout, longTimeout: longTimeout)
        }
        return DrainOutcome(drained: await drain(sandbox, timeout: timeout))
    }
}

/// A drainer that lets long-lived connections run past the drain timeout (the daemon's, over
/// the proxy).
public protocol LongLivedDrainer: TrafficDrainer {
    func drainLongLived(_ sandbox: SandboxHandle, timeout: Duration, longTimeout: Duration) async -> DrainOutcome
}
