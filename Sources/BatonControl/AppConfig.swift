import FoundationEssentials

/// What an app's sandboxes start with and its swaps check by: the settings `app set` changes.
/// The daemon keeps every version of it, immutable and numbered per app; a deployment names
/// the version its new sandbox started with, so a rollback restores bytes and settings together.
///
/// Secret values (`secrets`) never leave the daemon: whatever it reports carries
/// `KEY=<secret>` in their place (`masked`).
public struct AppConfig: Codable, Sendable, Equatable {
    public var port: Int?
    public var healthPath: String?
    public var healthStatus: Int
    public var healthTimeout: Double
    public var drainTimeout: Double
    public var memory: Int64?
    public var pids: Int?
    public var cpus: Double?
    /// KEY=VALUE, sorted by key.
    public var env: [String]
    /// KEY=VALUE, sorted by key; KEY=<secret> once masked.
    public var secrets: [String]

    public init(port: Int? = nil, healthPath: String? = nil, healthStatus: Int = AppSpec.defaultHealthStatus,
                healthTimeout: Double = AppSpec.defaultHealthTimeout, drainTimeout: Double = AppSpec.defaultDrainTimeout,
                memory: Int64? = nil, pids: Int? = nil, cpus: Double? = nil, env: [String] = [], secrets: [String] = []) {
        self.port = port
        self.healthPath = healthPath
        self.healthStatus = healthStatus
        self.healthTimeout = healthTimeout
        self.drainTimeout = drainTimeout
        self.memory = memory
        self.pids = pids
        self.cpus = cpus
        self.env = Self.sortedByKey(env)
        self.secrets = Self.sortedByKey(secrets)
    }

    /// The configuration `app create` or an apply file declares.
    public init(_ spec: AppSpec) {
        self.init(port: spec.port, healthPath: spec.healthPath, healthStatus: spec.healthStatus ?? AppSpec.defaultHealthStatus,
                  healthTimeout: spec.healthTimeout ?? AppSpec.defaultHealthTimeout,
                  drainTimeout: spec.drainTimeout ?? AppSpec.defaultDrainTimeout, memory: spec.memory, pids: spec.pids,
                  cpus: spec.cpus, env: spec.env, secrets: spec.secrets)
    }

    /// The configuration an app reports (its secrets masked).
    public init(_ app: AppInfo) {
        self.init(port: app.port, healthPath: app.healthPath, healthStatus: app.healthStatus, healthTimeout: app.healthTimeout,
                  drainTimeout: app.drainTimeout, memory: app.memory, pids: app.pids, cpus: app.cpus, env: app.env,
                  secrets: app.secrets)
    }

    /// What stands in for every secret value in what Baton prints.
    public static let secretMask = "<secret>"

    /// The same configuration with every secret value replaced by `<secret>`.
    public var masked: AppConfig {
        var copy = self
        copy.secrets = secretNames.map { "\($0)=\(Self.secretMask)" }
        return copy
    }

    public var secretNames: [String] { secrets.map(Self.key) }
    public var envNames: [String] { env.map(Self.key) }

    /// The settings that differ from `old`, by their key in an apply file. Secret values are
    /// compared only when `comparingSecretValues` (otherwise only which secrets there are):
    /// whether a value equals the stored one is told only to whom may read it anyway.
    public func changes(from old: AppConfig, comparingSecretValues: Bool) -> [String] {
        var changed: [String] = []
        if port != old.port { changed.append("port") }
        if healthPath != old.healthPath { changed.append("health.path") }
        if healthStatus != old.healthStatus { changed.append("health.status") }
        if healthTimeout != old.healthTimeout { changed.append("health.timeout") }
        if drainTimeout != old.drainTimeout { changed.append("drain") }
        if memory != old.memory { changed.append("memory") }
        if pids != old.pids { changed.append("pids") }
        if cpus != old.cpus { changed.append("cpus") }
        if env != old.env { changed.append("env") }
        let secretsDiffer = comparingSecretValues ? secrets != old.secrets : secretNames != old.secretNames
        if secretsDiffer { changed.append("secrets") }
        return changed
    }

    /// The name of a KEY=VALUE entry (all of it when it has no '=').
    public static func key(_ entry: String) -> String {
        entry.firstIndex(of: "=").map { String(entry[..<$0]) } ?? entry
    }

    static func sortedByKey(_ entries: [String]) -> [String] {
        // Stable: a name given twice keeps its order, so the later entry still wins.
        entries.enumerated().sorted { ($0.element.keyPart, $0.offset) < ($1.element.keyPart, $1.offset) }.map(\.element)
    }
}

extension String {
    fileprivate var keyPart: Substring { firstIndex(of: "=").map { self[..<$0] } ?? self[...] }
}

extension AppInfo {
    /// The app with `config`'s settings in place of its own, secrets masked: how it starts a
    /// sandbox of that configuration version.
    public func with(_ config: AppConfig) -> AppInfo {
        var app = self
        app.port = config.port
        app.healthPath = config.healthPath
        app.healthStatus = config.healthStatus
        app.healthTimeout = config.healthTimeout
        app.drainTimeout = config.drainTimeout
        app.memory = config.memory
        app.pids = config.pids
        app.cpus = config.cpus
        app.env = config.env
        app.secrets = config.masked.secrets
        return app
    }
}
