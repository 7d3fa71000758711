/// One line of `baton artifact ls`.
public struct ArtifactSummary: Sendable, Codable, Equatable {
    /// `NAME:VERSION`.
    public let name: String
    public let digest: String
    /// Manifest, config and layers, in bytes.
    public let size: Int64
}

/// `baton artifact inspect`.
public struct ArtifactDetails: Sendable, Encodable {
    public struct Layer: Sendable, Encodable {
        public let digest: String
        public let size: Int64
        public let mediaType: String
    }

    public let name: String?
    public let digest: String
    public let size: Int64
    /// Bottom first.
    public let layers: [Layer]
    public let config: ImageConfig
    /// The base's manifest digest, `host`, or nil.
    public let base: String?
    public let reproducible: Bool
    /// Host directories bound read-only at run time: granted by `publish --base host` on this
    /// host only, whatever the config's labels say.
    public let hostBinds: [String]

    enum CodingKeys: String, CodingKey {
        case name, digest, size, layers, config, base, reproducible, hostBinds
    }

    /// Absent values are written as null, so every key is always there.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(digest, forKey: .digest)
        try container.encode(size, forKey: .size)
        try container.encode(layers, forKey: .layers)
        try container.encode(config, forKey: .config)
        try container.encode(base, forKey: .base)
        try container.encode(reproducible, forKey: .reproducible)
        try container.encode(hostBinds, forKey: .hostBinds)
    }

    init(_ artifact: ResolvedArtifact, hostBinds: [String]) {
        name = artifact.name
        digest = artifact.digest
        size = artifact.size
        layers = artifact.layers.map { Layer(digest: $0.digest.description, size: $0.size, mediaType: $0.mediaType) }
        config = artifact.config
        base = artifact.base
        reproducible = artifact.reproducible
        self.hostBinds = hostBinds
    }
}

/// What `gc` removed.
public struct GarbageReport: Sendable, Codable {
    public var removedBlobs: Int = 0
    public var removedLayers: Int = 0
    public var freedBytes: Int64 = 0
}
