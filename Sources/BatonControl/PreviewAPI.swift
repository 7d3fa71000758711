import FoundationEssentials

/// `POST /v1/previews`: make (or swap) the preview `name` to the artifact `ref`.
public struct PreviewRequest: Codable, Sendable {
    public var name: String
    public var ref: String
    /// Seconds until the daemon removes the preview; nil: it stays until removed.
    public var ttl: Double?
    /// Smoke part: the preview's smoke checks; nil: none for a new preview, kept for an existing one.
    public var smoke: [String]?

    public init(name: String, ref: String, ttl: Double?, smoke: [String]? = nil) {
        self.name = name
        self.ref = ref
        self.ttl = ttl
        self.smoke = smoke
    }
}

/// The reply to `POST /v1/previews`: where the preview answers and how its deploy went.
public struct PreviewCreation: Codable, Sendable {
    public var host: String
    public var deployment: DeploymentInfo

    public init(
        host: String, deployment: DeploymentInfo
    ) {
        self.host = host
        self.deployment = deployment
    }
}

/// A preview as `baton preview ls` lists it.
public struct PreviewInfo: Codable, Sendable, Equatable {
    public var name: String
    public var host: String
    public var artifact: String?
    /// The digest serving now; nil when nothing serves (its sandbox was stopped).
    public var digest: String?
    public var createdAt: String
    public var ageSeconds: Double?
    /// nil: no TTL.
    public var expiresAt: String?


    public init(
        name: String, host: String, artifact: String? = nil, digest: String? = nil, createdAt: String, ageSeconds: Double? = nil, expiresAt: String? = nil
    ) {
        self.name = name
        self.host = host
        self.artifact = artifact
        self.digest = digest
        self.createdAt = createdAt
        self.ageSeconds = ageSeconds
        self.expiresAt = expiresAt
    }

    public func encode(to encoder: any Encoder) throws {
        // Absent values are written as null so every key is always there.
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(host, forKey: .host)
        try container.encode(artifact, forKey: .artifact)
        try container.encode(digest, forKey: .digest)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(ageSeconds, forKey: .ageSeconds)
        try container.encode(expiresAt, forKey: .expiresAt)
    }
}
