/// What an artifact's image config says about running it.
public struct ImageConfig: Sendable, Equatable, Codable {
    public var cmd: [String]?
    public var entrypoint: [String]?
    /// `KEY=VALUE` entries, in order.
    public var env: [String]
    public var workingDir: String?
    /// TCP ports the app listens on.
    public var exposedPorts: [Int]
    /// The path a health check GETs (label `org.baton.health-path`).
    public var healthPath: String?
    public var user: String?
    public var labels: [String: String]

    public init(
        cmd: [String]? = nil, entrypoint: [String]? = nil, env: [String] = [], workingDir: String? = nil,
        exposedPorts: [Int] = [], healthPath: String? = nil, user: String? = nil, labels: [String: String] = [:]
    ) {
        self.cmd = cmd
        self.entrypoint = entrypoint
        self.env = env
        self.workingDir = workingDir
        self.exposedPorts = exposedPorts
        self.healthPath = healthPath
        self.user = user
        self.labels = labels
    }

    /// `env` with `other`'s entries replacing those of the same key, others appended.
    static func merge(env base: [String], with other: [String]) -> [String] {
        func key(_ entry: String) -> Substring { entry.split(separator: "=", maxSplits: 1).first ?? Substring(entry) }
        var result = base.filter { entry in !other.contains { key($0) == key(entry) } }
        result.append(contentsOf: other)
        return result
    }
}

/// The OCI image config document, with the field names the image spec gives them. No
/// `created` or `history` is written, so the same inputs give the same bytes.
struct OCIImageConfig: Codable, Sendable {
    struct Empty: Codable, Hashable, Sendable {}

    struct RunConfig: Codable, Sendable {
        var User: String?
        var ExposedPorts: [String: Empty]?
        var Env: [String]?
        var Entrypoint: [String]?
        var Cmd: [String]?
        var WorkingDir: String?
        var Labels: [String: String]?
    }

    struct RootFS: Codable, Sendable {
        var type: String
        var diff_ids: [Digest]
    }

    var architecture: String
    var os: String
    var config: RunConfig?
    var rootfs: RootFS

    /// The config as Baton reads it.
    var imageConfig: ImageConfig {
        let run = config
        let ports = (run?.ExposedPorts ?? [:]).keys.compactMap { key -> Int? in
            let parts = key.split(separator: "/")
            guard let first = parts.first, parts.count == 1 || parts.last == "tcp" else { return nil }
            return Int(first)
        }.sorted()
        let labels = run?.Labels ?? [:]
        return ImageConfig(
            cmd: run?.Cmd, entrypoint: run?.Entrypoint, env: run?.Env ?? [],
            workingDir: run?.WorkingDir.flatMap { $0.isEmpty ? nil : $0 }, exposedPorts: ports,
            healthPath: labels[AnnotationKey.healthPath], user: run?.User.flatMap { $0.isEmpty ? nil : $0 },
            labels: labels
        )
    }

    init(_ image: ImageConfig, diffIDs: [Digest], architecture: String = hostArchitecture) {
        var labels = image.labels
        if let healthPath = image.healthPath { labels[AnnotationKey.healthPath] = healthPath }
        let ports = image.exposedPorts.isEmpty
            ? nil : Dictionary(uniqueKeysWithValues: Set(image.exposedPorts).map { ("\($0)/tcp", Empty()) })
        self.architecture = architecture
        self.os = "linux"
        self.config = RunConfig(
            User: image.user, ExposedPorts: ports, Env: image.env.isEmpty ? nil : image.env,
            Entrypoint: image.entrypoint, Cmd: image.cmd, WorkingDir: image.workingDir,
            Labels: labels.isEmpty ? nil : labels
        )
        self.rootfs = RootFS(type: "layers", diff_ids: diffIDs)
    }
}

#if arch(x86_64)
let hostArchitecture = "amd64"
#elseif arch(arm64)
let hostArchitecture = "arm64"
#else
let hostArchitecture = "unknown"
#endif
