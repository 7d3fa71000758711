import FoundationEssentials

/// What `baton app create` asks for. Upstream apps route to `upstream` (ADDR:PORT); sandbox
/// apps get their target when a deploy lands (issue 5).
public struct AppSpec: Codable, Sendable, Equatable {
    public var name: String
    public var hosts: [String]
    public var upstream: String?
    public var port: Int?
    public var healthPath: String?
    public var healthStatus: Int?
    public var healthTimeout: Double?
    public var drainTimeout: Double?
    public var memory: Int64?
    public var pids: Int?
    public var env: [String]
    public var cpus: Double?
    /// KEY=VALUE; kept only in the daemon's state database, never reported back.
    public var secrets: [String]
    /// `egress` (the default for sandbox apps) or `none`.
    public var network: String?
    /// `CIDR[:PORT]` destinations an egress app is limited to; empty: anywhere but link-local.
    public var egressAllow: [String]?
    public var volumes: [AppVolume]
    /// nil: blue-green.
    public var strategy: DeployStrategy?
    /// How long a stop-first deploy may hold requests; nil: `defaultHoldTimeout`.
    public var holdTimeout: Double?
    /// The proxy's settings for the app (`AppProxySettings.swift`); nil: off, off, http1.
    public var httpsRedirect: Bool?
    public var hsts: Bool?
    public var upstreamProtocol: AppUpstreamProtocol?
    /// longlived: how long blue's WebSocket and event-stream connections may run after a flip
    /// (`--drain-long-timeout`); nil: the drain timeout.
    public var drainLongTimeout: Double?
    /// Smoke part: the smoke checks (`AppSmokeChecks.swift`); nil: none (`app set` keeps the app's).
    public var smoke: [String]?
    /// Bake (part 3, `AppBakeSettings.swift`): seconds of bake window after each flip, and its
    /// limits; nil: 0 (none), 1%, 2x.
    public var bakeSeconds: Double?
    public var bakeMaxServerErrorPercent: Double?
    public var bakeMaxP99Factor: Double?
    /// Replicas part: sandboxes serving the app at once (`AppReplicas.swift`); nil: 1.
    public var replicas: Int?

    public init(
        name: String, hosts: [String], upstream: String? = nil, port: Int? = nil, healthPath: String? = nil,
        healthStatus: Int? = nil, healthTimeout: Double? = nil, drainTimeout: Double? = nil, memory: Int64? = nil,
        pids: Int? = nil, env: [String] = [], cpus: Double? = nil, secrets: [String] = [], network: String? = nil,
        egressAllow: [String]? = nil, volumes: [AppVolume] = [], strategy: DeployStrategy? = nil, holdTimeout: Double? = nil,
        httpsRedirect: Bool? = nil, hsts: Bool? = nil, upstreamProtocol: AppUpstreamProtocol? = nil
    ) {
        self.name = name
        self.hosts = hosts
        self.upstream = upstream
        self.port = port
        self.healthPath = healthPath
        self.healthStatus = healthStatus
        self.healthTimeout = healthTimeout
        self.drainTimeout = drainTimeout
        self.memory = memory
        self.pids = pids
        self.env = env
        self.cpus = cpus
        self.secrets = secrets
        self.network = network
        self.egressAllow = egressAllow
        self.volumes = volumes
        self.strategy = strategy
        self.holdTimeout = holdTimeout
        self.httpsRedirect = httpsRedirect
        self.hsts = hsts
        self.upstreamProtocol = upstreamProtocol
    }
}

/// An app as the daemon reports it.
public struct AppInfo: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case upstream
        case sandbox
    }

    public var name: String
    public var hosts: [String]
    public var kind: Kind
    /// The artifact digest serving now; nil for upstream apps and undeployed sandbox apps.
    public var digest: String?
    public var upstream: String?
    public var port: Int?
    /// nil: the deployed artifact's (publish --health-path), else "/".
    public var healthPath: String?
    public var healthStatus: Int
    public var healthTimeout: Double
    public var drainTimeout: Double
    public var memory: Int64?
    public var pids: Int?
    public var env: [String]
    public var createdAt: String
    /// Requests in flight on the app's target now (filled by the daemon, 0 when unknown).
    public var inFlight: Int
    /// Made by `baton preview create`: `apply` leaves previews alone.
    public var preview: Bool = false
    public var cpus: Double?
    /// KEY=<secret>: which secrets the app has, never their values.
    public var secrets: [String] = []
    /// The configuration version the app is at: the serving sandbox's, or the one stored for
    /// the next deploy when nothing serves.
    public var configVersion: Int64?
    /// The sandbox the proxy sends the app's traffic to now.
    public var servingSandbox: String?
    /// `egress` or `none` for sandbox apps; nil for upstream apps.
    public var network: String?
    public var egressAllow: [String] = []
    public var volumes: [AppVolume]
    public var strategy: DeployStrategy
    public var holdTimeout: Double
    /// Plain HTTP requests are answered 308 to https.
    public var httpsRedirect: Bool = false
    /// HTTPS responses carry Strict-Transport-Security.
    public var hsts: Bool = false
    /// How the proxy speaks to the app: HTTP/1.1, or HTTP/2 without TLS.
    public var upstreamProtocol: AppUpstreamProtocol = .http1
    /// longlived: `--drain-long-timeout` in seconds; nil: the drain timeout.
    public var drainLongTimeout: Double?
    /// Smoke part: the checks green must pass before the flip, as the grammar writes them.
    public var smoke: [String] = []
    /// Bake (part 3): the bake window after each flip (0: none) and its limits.
    public var bakeSeconds: Double = 0
    public var bakeMaxServerErrorPercent: Double = BakeSettings.defaultMaxServerErrorPercent
    public var bakeMaxP99Factor: Double = BakeSettings.defaultMaxP99Factor
    /// Replicas part: sandboxes serving the app at once (`--replicas`).
    public var replicas: Int = 1

    public init(
        name: String, hosts: [String], kind: Kind, digest: String? = nil, upstream: String? = nil, port: Int? = nil, healthPath: String? = nil, healthStatus: Int, healthTimeout: Double, drainTimeout: Double, memory: Int64? = nil, pids: Int? = nil, env: [String], createdAt: String, inFlight: Int, preview: Bool = false,
        volumes: [AppVolume] = [], strategy: DeployStrategy = .blueGreen, holdTimeout: Double = AppSpec.defaultHoldTimeout
    ) {
        self.name = name
        self.hosts = hosts
        self.kind = kind
        self.digest = digest
        self.upstream = upstream
        self.port = port
        self.healthPath = healthPath
        self.healthStatus = healthStatus
        self.healthTimeout = healthTimeout
        self.drainTimeout = drainTimeout
        self.memory = memory
        self.pids = pids
        self.env = env
        self.createdAt = createdAt
        self.inFlight = inFlight
        self.preview = preview
        self.volumes = volumes
        self.strategy = strategy
        self.holdTimeout = holdTimeout
    }

    public func encode(to encoder: any Encoder) throws {
        // Absent values are written as null so every key is always there.
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(hosts, forKey: .hosts)
        try container.encode(kind, forKey: .kind)
        try container.encode(digest, forKey: .digest)
        try container.encode(upstream, forKey: .upstream)
        try container.encode(port, forKey: .port)
        try container.encode(healthPath, forKey: .healthPath)
        try container.encode(healthStatus, forKey: .healthStatus)
        try container.encode(healthTimeout, forKey: .healthTimeout)
        try container.encode(drainTimeout, forKey: .drainTimeout)
        try container.encode(memory, forKey: .memory)
        try container.encode(pids, forKey: .pids)
        try container.encode(env, forKey: .env)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(inFlight, forKey: .inFlight)
        try container.encode(preview, forKey: .preview)
        try container.encode(cpus, forKey: .cpus)
        try container.encode(secrets, forKey: .secrets)
        try container.encode(configVersion, forKey: .configVersion)
        try container.encode(servingSandbox, forKey: .servingSandbox)
        try container.encode(network, forKey: .network)
        try container.encode(egressAllow, forKey: .egressAllow)
        try container.encode(volumes, forKey: .volumes)
        try container.encode(strategy, forKey: .strategy)
        try container.encode(holdTimeout, forKey: .holdTimeout)
        try container.encode(httpsRedirect, forKey: .httpsRedirect)
        try container.encode(hsts, forKey: .hsts)
        try container.encode(upstreamProtocol, forKey: .upstreamProtocol)
        try container.encode(drainLongTimeout, forKey: .drainLongTimeout)
        try container.encode(smoke, forKey: .smoke)
        try container.encode(bakeSeconds, forKey: .bakeSeconds)
        try container.encode(bakeMaxServerErrorPercent, forKey: .bakeMaxServerErrorPercent)
        try container.encode(bakeMaxP99Factor, forKey: .bakeMaxP99Factor)
        try container.encode(replicas, forKey: .replicas)
    }
}

/// The body of every error reply of the control API.
public struct ControlErrorBody: Codable, Sendable {
    public var error: String
    public var code: String

    public init(
        error: String, code: String
    ) {
        self.error = error
        self.code = code
    }
}

/// The control API's JSON: snake_case keys, sorted, on both ends.
public enum ControlJSON {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}
