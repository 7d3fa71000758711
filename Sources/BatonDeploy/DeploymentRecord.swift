import Foundation

/// The steps of a swap, in the order they complete.
public enum DeployPhase: String, Sendable, CaseIterable, Codable {
    /// Green's program runs.
    case started
    /// Green answered its health check with the expected status.
    case healthy
    /// The app's route points at green.
    case routed
    /// Blue's in-flight requests finished, or the drain timeout passed.
    case drained
    /// Blue is stopped and removed.
    case stopped
    /// Stop-first: the app's new requests are held (before blue is drained and stopped).
    case held
    /// Stop-first, green failed: blue's digest runs again, healthy and routed.
    case restored
    /// Smoke part: green passed every smoke check (only for an app that has some); between
    /// healthy and routed.
    case smoked
    /// Bake (part 3): the bake window ended with green within its limits.
    case baked
    /// Bake (part 3): the bake window flipped traffic back to blue.
    case reverted
}

/// One completed phase: when it completed and how long it took since the previous one.
public struct PhaseRecord: Sendable, Equatable {
    public let phase: DeployPhase
    public let completedAt: Date
    public let duration: Duration
    /// What a reader should know, e.g. "timeout passed with requests in flight".
    public let detail: String?

    public init(phase: DeployPhase, completedAt: Date, duration: Duration, detail: String? = nil) {
        self.phase = phase
        self.completedAt = completedAt
        self.duration = duration
        self.detail = detail
    }

    /// `duration` in seconds, for JSON and display.
    public var seconds: Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}

/// How a deployment ended. `running` is a deployment still under way; after a daemon crash,
/// recovery records a `running` one as `interrupted`.
public enum DeploymentOutcome: String, Sendable, Codable {
    case running, succeeded, failed, interrupted
    /// Bake (part 3): green served, then its bake window flipped traffic back to blue.
    case rolledBack = "rolled_back"
}

/// One swap of an app from one digest to another: the audit trail of which bytes served when.
public struct DeploymentRecord: Sendable, Equatable {
    /// Assigned by the `DeploymentRecorder`.
    public let id: Int64
    public let app: String
    /// The digest that served before, nil for an app's first deploy.
    public let fromDigest: String?
    public let toDigest: String
    public let startedAt: Date
    public var phases: [PhaseRecord]
    public var outcome: DeploymentOutcome
    /// Why the deployment failed or was interrupted.
    public var reason: String?
    public var finishedAt: Date?
    /// The configuration version that served before, and the one green started with.
    public var fromConfigVersion: Int64?
    public var configVersion: Int64?
    /// longlived: blue's long-lived connections during its drain (nil: none counted).
    public var longLived: LongLivedCounts?
    /// Bake (part 3): how the bake window went, when there was one.
    public var bake: BakeReport?

    public init(id: Int64, app: String, fromDigest: String?, toDigest: String, startedAt: Date,
                phases: [PhaseRecord] = [], outcome: DeploymentOutcome = .running,
                reason: String? = nil, finishedAt: Date? = nil, fromConfigVersion: Int64? = nil, configVersion: Int64? = nil) {
        self.id = id
        self.app = app
        self.fromDigest = fromDigest
        self.toDigest = toDigest
        self.startedAt = startedAt
        self.phases = phases
        self.outcome = outcome
        self.reason = reason
        self.finishedAt = finishedAt
        self.fromConfigVersion = fromConfigVersion
        self.configVersion = configVersion
    }
}

/// Blue's long-lived connections (WebSocket tunnels, event streams) during its drain: how many
/// were open at the flip and how each ended.
public struct LongLivedCounts: Sendable, Equatable, Codable {
    public var open: Int
    public var closedByClient: Int
    /// Ended by the app itself (blue closed them).
    public var closedByApp: Int
    /// Ended by Baton at the long drain timeout.
    public var closedByBaton: Int

    public init(open: Int, closedByClient: Int, closedByApp: Int, closedByBaton: Int) {
        self.open = open
        self.closedByClient = closedByClient
        self.closedByApp = closedByApp
        self.closedByBaton = closedByBaton
    }
}
