/// An artifact found in the store, its manifest and config read and verified.
public struct ResolvedArtifact: Sendable {
    /// `NAME:VERSION` when the artifact was found by name or a name is bound to it.
    public let name: String?
    /// The manifest digest, `sha256:<hex>`.
    public let digest: String
    public let manifestDescriptor: Descriptor
    public let configDescriptor: Descriptor
    public let config: ImageConfig
    /// Layer descriptors, bottom first (as in the manifest).
    public let layers: [Descriptor]
    /// The manifest's annotations (`org.baton.base`, `org.baton.reproducible`, …).
    public let annotations: [String: String]
    /// The config's `rootfs.diff_ids` (uncompressed layer digests), bottom first.
    let diffIDs: [Digest]

    /// What this artifact was stacked on: a manifest digest, `host`, or nil.
    public var base: String? { annotations[AnnotationKey.base] }

    /// False when the bytes depend on the publishing host.
    public var reproducible: Bool { annotations[AnnotationKey.reproducible] != "false" }

    /// Manifest, config and layer sizes added up.
    public var size: Int64 {
        manifestDescriptor.size + configDescriptor.size + layers.reduce(0) { $0 + $1.size }
    }
}
