import BatonOS

/// A manifest or image index as a registry serves it, parsed only for what a transfer needs:
/// which blobs (or which platform manifests) it names. The bytes themselves are kept as they
/// came, since their digest is the image's identity.
public enum ImageDocument: Sendable {
    case manifest(config: Descriptor, layers: [Descriptor])
    case index([Descriptor])

    /// The media types a registry may answer a manifest request with (OCI and Docker schema 2).
    public static let acceptedMediaTypes = [
        MediaType.imageManifest, MediaType.imageIndex, MediaType.dockerManifest, MediaType.dockerManifestList,
    ]

    /// Parses `bytes`; `mediaType` is the document's own `mediaType` field when it has one,
    /// else the type the registry sent. Anything but an image manifest or index is refused.
    public static func parse(_ bytes: [UInt8], served contentType: String?, what: String) throws -> (ImageDocument, mediaType: String) {
        let probe = try CanonicalJSON.decode(MediaTypeProbe.self, from: bytes, what: what)
        let served = contentType.map { String($0.split(separator: ";").first ?? "").trimmingSpaces() }
        guard let mediaType = probe.mediaType ?? served, !mediaType.isEmpty else {
            throw BatonError(.corrupt, "\(what) names no media type")
        }
        guard probe.schemaVersion == 2 else {
            throw BatonError(.corrupt, "\(what) has schemaVersion \(probe.schemaVersion.map(String.init) ?? "none"); only schema 2 (OCI, Docker v2) is supported")
        }
        if MediaType.isIndex(mediaType) {
            let index = try CanonicalJSON.decode(ImageIndex.self, from: bytes, what: what)
            return (.index(index.manifests), mediaType)
        }
        guard MediaType.isManifest(mediaType) else {
            throw BatonError(.corrupt, "\(what) has unsupported media type '\(mediaType)' (accepted: \(acceptedMediaTypes.joined(separator: ", ")))")
        }
        let manifest = try CanonicalJSON.decode(Manifest.self, from: bytes, what: what)
        for layer in manifest.layers where !MediaType.isLayer(layer.mediaType) {
            throw BatonError(.corrupt, "\(what): layer \(layer.digest) has unsupported media type '\(layer.mediaType)'")
        }
        let configTypes = [MediaType.imageConfig, MediaType.dockerConfig]
        guard configTypes.contains(manifest.config.mediaType) else {
            throw BatonError(.corrupt, "\(what): config has unsupported media type '\(manifest.config.mediaType)' (not a container image)")
        }
        return (.manifest(config: manifest.config, layers: manifest.layers), mediaType)
    }

    private struct MediaTypeProbe: Decodable {
        var schemaVersion: Int?
        var mediaType: String?
    }
}

extension ArtifactStore {
    /// Where the blob with `digest` lives in the store (it may not exist).
    public func blobPath(_ digest: Digest) -> String { layout.blobPath(digest) }

    /// The artifact's manifest bytes exactly as stored, verified against its digest.
    public func manifestBytes(of artifact: ResolvedArtifact) throws -> [UInt8] {
        try readVerified(artifact.manifestDescriptor, what: "manifest")
    }

    /// The index annotations of the entry named `name` (`org.baton.source` after a pull).
    public func entryAnnotations(_ name: String) throws -> [String: String] {
        try index.entry(named: name)?.annotations ?? [:]
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
