import BatonOS
import FoundationEssentials

/// What `baton app set` changes in an app's configuration; everything left out stays.
public struct AppConfigChange: Codable, Sendable, Equatable {
    /// KEY=VALUE: set, or replace, a variable.
    public var env: [String] = []
    /// KEY=VALUE: set, or replace, a secret.
    public var secrets: [String] = []
    /// Names of variables or secrets to remove.
    public var unset: [String] = []
    public var port: Int?
    /// 0 removes the limit.
    public var memory: Int64?
    /// 0 removes the limit.
    public var pids: Int?
    /// 0 removes the limit.
    public var cpus: Double?
    public var healthPath: String?
    public var healthStatus: Int?
    public var healthTimeout: Double?
    public var drainTimeout: Double?

    public init() {}

    public var isEmpty: Bool { self == AppConfigChange() }

    /// The flags given that only a sandbox app takes (an upstream app runs outside Baton).
    public var sandboxOnlyFlags: [String] {
        [(!env.isEmpty, "--env"), (!secrets.isEmpty, "--secret"), (!unset.isEmpty, "--unset"), (port != nil, "--port"),
         (memory != nil, "--memory"), (pids != nil, "--pids"), (cpus != nil, "--cpus")].filter { $0.0 }.map { $0.1 }
    }
}

extension AppConfig {
    /// This configuration with `change` made, checked: unset of a name it lacks, a name given
    /// twice, or a variable turned into a secret (or back) is refused.
    public func applying(_ change: AppConfigChange) throws(BatonError) -> AppConfig {
        var seen = Set<String>()
        for name in change.unset + (change.env + change.secrets).map(Self.key) where !seen.insert(name).inserted {
            throw BatonError(.invalidArgument, "\(name) is given twice: set or unset each name once")
        }
        var next = self
        for name in change.unset {
            guard envNames.contains(name) || secretNames.contains(name) else {
                throw BatonError(.notFound, "cannot unset \(name): the app has no variable or secret \(name)")
            }
            next.env.removeAll { Self.key($0) == name }
            next.secrets.removeAll { Self.key($0) == name }
        }
        try Self.set(change.env, in: &next.env, refusing: secretNames) { "\($0) is a secret of the app: --unset \($0) first to make it a plain variable" }
        try Self.set(change.secrets, in: &next.secrets, refusing: envNames) {
            "\($0) is an environment variable of the app: --unset \($0) first to make it a secret"
        }
        if let port = change.port { next.port = port }
        if let memory = change.memory { next.memory = memory == 0 ? nil : memory }
        if let pids = change.pids { next.pids = pids == 0 ? nil : pids }
        if let cpus = change.cpus { next.cpus = cpus == 0 ? nil : cpus }
        if let path = change.healthPath { next.healthPath = path }
        if let status = change.healthStatus { next.healthStatus = status }
        if let timeout = change.healthTimeout { next.healthTimeout = timeout }
        if let drain = change.drainTimeout { next.drainTimeout = drain }
        return try next.validated()
    }

    /// Sets each KEY=VALUE of `entries` in `list` (kept sorted), refusing a name of the other
    /// kind: a secret must not turn plain, nor a variable secret, unnoticed.
    private static func set(_ entries: [String], in list: inout [String], refusing others: [String],
                            _ message: (String) -> String) throws(BatonError) {
        for entry in entries {
            let name = key(entry)
            if others.contains(name) { throw BatonError(.conflict, message(name)) }
            list.removeAll { key($0) == name }
            list.append(entry)
        }
        list = sortedByKey(list)
    }
}

/// `POST /v1/apps/NAME/config`: a new configuration, swapped in like a deploy of the digest
/// serving now (or of `ref`) through the same health gate; stored only, when nothing serves.
public struct AppConfigRequest: Codable, Sendable, Equatable {
    /// What `app set` changes, on top of the current configuration.
    public var change: AppConfigChange?
    /// The whole configuration an apply file declares, in place of the current one.
    public var replacement: AppConfig?
    /// Swap to this artifact with the new configuration, in the same swap.
    public var ref: String?
    /// Only say what would change.
    public var dryRun: Bool

    public init(change: AppConfigChange? = nil, replacement: AppConfig? = nil, ref: String? = nil, dryRun: Bool = false) {
        self.change = change
        self.replacement = replacement
        self.ref = ref
        self.dryRun = dryRun
    }
}

/// What a configuration request did.
public struct AppConfigResult: Codable, Sendable, Equatable {
    /// The app as it is now (secrets masked).
    public var app: AppInfo
    /// The version made (or, when nothing changed, the current one).
    public var configVersion: Int64?
    /// The settings that changed, by their key in an apply file.
    public var changes: [String]
    /// The swap that brought the version in; nil when none ran.
    public var deployment: DeploymentInfo?

    public init(app: AppInfo, configVersion: Int64?, changes: [String], deployment: DeploymentInfo?) {
        self.app = app
        self.configVersion = configVersion
        self.changes = changes
        self.deployment = deployment
    }

    public func encode(to encoder: any Encoder) throws {
        // Absent values are written as null so every key is always there.
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(app, forKey: .app)
        try container.encode(configVersion, forKey: .configVersion)
        try container.encode(changes, forKey: .changes)
        try container.encode(deployment, forKey: .deployment)
    }
}

extension ControlClient {
    /// Changes an app's configuration; a swap when something serves it.
    public func configure(app: String, _ request: AppConfigRequest) throws -> AppConfigResult {
        try decode(AppConfigResult.self, try call("POST", "/v1/apps/\(Self.escape(app))/config",
                                                  body: try ControlJSON.encoder().encode(request), replySeconds: Self.swapReplySeconds))
    }
}
