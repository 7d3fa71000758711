import FoundationEssentials

/// `POST /v1/apps/NAME/deploy`: the artifact to swap to.
public struct DeployRequest: Codable, Sendable {
    /// A local reference, or a registry image (`REGISTRY/REPO@sha256:…` or `:TAG`) the daemon
    /// pulls into its own store first.
    public var ref: String
    /// Plain HTTP to the registry (`baton deploy --insecure`).
    public var insecure: Bool?
    /// Bake (part 3): this deploy's bake window, replacing the app's (`--bake`, `--bake-max-5xx`, `--bake-max-p99`).
    public var bake: BakeSettings?
    /// verify: `--verify`, with its rate (per second) and path (nil: the defaults).
    public var verify: VerifyOptions?

    public init(ref: String, insecure: Bool? = nil, bake: BakeSettings? = nil) {
        self.ref = ref
        self.insecure = insecure
        self.bake = bake
    }
}

/// verify: `baton deploy --verify [--verify-rate N] [--verify-path P]`.
public struct VerifyOptions: Codable, Sendable, Equatable {
    public var rate: Int?
    public var path: String?

    public init(rate: Int? = nil, path: String? = nil) {
        self.rate = rate
        self.path = path
    }

    /// One `error:`-worthy sentence when the options are out of bounds.
    public func problem() -> String? {
        if let rate, rate < 1 || rate > VerifyReport.maxRate {
            return "--verify-rate \(rate) is out of range: give 1 to \(VerifyReport.maxRate) requests per second"
        }
        if let path {
            if !path.hasPrefix("/") || path.utf8.count > 1024 || path.utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7F }) {
                return "--verify-path must be an origin-form path such as /healthz (no spaces or control characters, at most 1024 bytes)"
            }
        }
        return nil
    }
}

/// `POST /v1/apps/NAME/rollback`: an explicit target, or nil for the digest served before.
public struct RollbackRequest: Codable, Sendable {
    public var to: String?
    public init(to: String?) { self.to = to }
}

/// One phase of a deployment as the API reports it.
public struct PhaseInfo: Codable, Sendable, Equatable {
    public var phase: String
    public var completedAt: String
    public var seconds: Double
    public var detail: String?

    public init(
        phase: String, completedAt: String, seconds: Double, detail: String? = nil
    ) {
        self.phase = phase
        self.completedAt = completedAt
        self.seconds = seconds
        self.detail = detail
    }
}

/// A deployment: which bytes replaced which, when, how each phase went.
public struct DeploymentInfo: Codable, Sendable, Equatable {
    public var id: Int64
    public var app: String
    public var fromDigest: String?
    public var toDigest: String
    public var outcome: String
    public var reason: String?
    public var startedAt: String
    public var finishedAt: String?
    public var phases: [PhaseInfo]
    /// The new sandbox's last log lines when it failed to become healthy.
    public var logLines: [String]?
    /// The configuration version the new sandbox started with, and the one it replaced.
    public var configVersion: Int64?
    public var fromConfigVersion: Int64?
    /// longlived: blue's WebSocket and event-stream connections during its drain; nil when
    /// none were open.
    public var longLived: LongLivedInfo?
    /// Bake (part 3): how the bake window went, when the deploy had one.
    public var bake: BakeInfo?
    /// verify: what `--verify`'s load saw across the swap.
    public var verify: VerifyReport?
    /// Replicas part: what began it, `deploy`, `rollback` or `restart` (the daemon restarting a
    /// serving sandbox that died), and for a restart which sandbox died and how.
    public var trigger: String?
    public var triggerDetail: String?
    /// While the deployment runs and its new sandbox is being health-checked: how that goes.
    public var healthWait: HealthWaitInfo?

    public init(
        id: Int64, app: String, fromDigest: String? = nil, toDigest: String, outcome: String, reason: String? = nil, startedAt: String, finishedAt: String? = nil, phases: [PhaseInfo], logLines: [String]? = nil
    ) {
        self.id = id
        self.app = app
        self.fromDigest = fromDigest
        self.toDigest = toDigest
        self.outcome = outcome
        self.reason = reason
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.phases = phases
        self.logLines = logLines
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(app, forKey: .app)
        try container.encode(fromDigest, forKey: .fromDigest)
        try container.encode(toDigest, forKey: .toDigest)
        try container.encode(outcome, forKey: .outcome)
        try container.encode(reason, forKey: .reason)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(finishedAt, forKey: .finishedAt)
        try container.encode(phases, forKey: .phases)
        try container.encodeIfPresent(logLines, forKey: .logLines)
        try container.encode(configVersion, forKey: .configVersion)
        try container.encode(fromConfigVersion, forKey: .fromConfigVersion)
        try container.encodeIfPresent(longLived, forKey: .longLived)
        try container.encodeIfPresent(bake, forKey: .bake)
        try container.encodeIfPresent(verify, forKey: .verify)
        try container.encode(trigger, forKey: .trigger)
        try container.encode(triggerDetail, forKey: .triggerDetail)
        try container.encodeIfPresent(healthWait, forKey: .healthWait)
    }
}

/// A running deployment's health checks so far, for the CLI to say why it waits.
public struct HealthWaitInfo: Codable, Sendable, Equatable {
    public var attempts: Int
    /// `answered 500`, `connection refused`.
    public var lastResult: String
    /// Since the first check.
    public var seconds: Double

    public init(attempts: Int, lastResult: String, seconds: Double) {
        self.attempts = attempts
        self.lastResult = lastResult
        self.seconds = seconds
    }
}

/// A sandbox as `baton ps` lists it.
public struct SandboxInfo: Codable, Sendable, Equatable {
    public var id: String
    public var app: String
    public var artifact: String?
    public var digest: String
    public var state: String
    /// Whether the proxy sends the app's traffic to it.
    public var serving: Bool
    /// A health check made when listed: "healthy", or "unhealthy: why"; nil when not running.
    public var health: String?
    public var pid: Int32?
    public var createdAt: String
    public var uptimeSeconds: Double?
    public var memoryBytes: Int64?
    public var logPath: String
    /// Replicas part: how an exited sandbox ended, its status (128+N for signal N) and the
    /// signal that killed it, if one did.
    public var exitStatus: Int32?
    public var exitSignal: Int32?
    /// Replicas part: for a replica of an app's group (`--replicas`), the group's first sandbox.
    public var replicaOf: String?


    public init(
        id: String, app: String, artifact: String? = nil, digest: String, state: String, serving: Bool, health: String? = nil, pid: Int32? = nil, createdAt: String, uptimeSeconds: Double? = nil, memoryBytes: Int64? = nil, logPath: String
    ) {
        self.id = id
        self.app = app
        self.artifact = artifact
        self.digest = digest
        self.state = state
        self.serving = serving
        self.health = health
        self.pid = pid
        self.createdAt = createdAt
        self.uptimeSeconds = uptimeSeconds
        self.memoryBytes = memoryBytes
        self.logPath = logPath
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(app, forKey: .app)
        try container.encode(artifact, forKey: .artifact)
        try container.encode(digest, forKey: .digest)
        try container.encode(state, forKey: .state)
        try container.encode(serving, forKey: .serving)
        try container.encode(health, forKey: .health)
        try container.encode(pid, forKey: .pid)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(uptimeSeconds, forKey: .uptimeSeconds)
        try container.encode(memoryBytes, forKey: .memoryBytes)
        try container.encode(logPath, forKey: .logPath)
        try container.encode(exitStatus, forKey: .exitStatus)
        try container.encode(exitSignal, forKey: .exitSignal)
        try container.encode(replicaOf, forKey: .replicaOf)
    }
}
