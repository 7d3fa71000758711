import BatonOS

/// What `baton build` publishes: its base, the layers its steps made, and the config its
/// instructions set.
public struct BuiltImage: Sendable {
    public enum Base: Sendable {
        /// `FROM scratch`.
        case none
        /// A local artifact, its layers beneath and its config inherited.
        case artifact(ResolvedArtifact)
        /// `FROM host`: the layer `hostBaseLayer()` made, and the host directories it binds.
        case host(layer: Descriptor, binds: [String])
    }

    public var base: Base
    /// The build's own layers, bottom first (above the base's).
    public var layers: [Descriptor]
    public var config: ImageConfig

    public init(base: Base, layers: [Descriptor], config: ImageConfig) {
        self.base = base
        self.layers = layers
        self.config = config
    }
}

extension ArtifactStore {
    /// A writer for one new layer blob in this store.
    public func layerBuilder() throws -> LayerBuilder {
        try layout.create()
        return try LayerBuilder(layout)
    }

    /// Whether the layer blob `descriptor` is in the store (a build cache entry may outlive
    /// its blob: `gc` removes blobs no artifact names).
    public func hasBlob(_ descriptor: Descriptor) -> Bool {
        FileIO.fileSize(layout.blobPath(descriptor.digest)) == descriptor.size
    }

    /// Unpacked directories of `layers` (bottom first), top first for an overlay `lowerdir`.
    public func unpackedLayers(_ layers: [Descriptor]) throws -> [String] {
        let unpacker = LayerUnpacker(layout: layout)
        return try withWriting { try layers.map { try unpacker.unpack($0) }.reversed() }
    }

    /// The layer `publish --base host` puts beneath an app, stored, and the host directories
    /// a sandbox of it binds. Its bytes depend on this host's /etc.
    public func hostBaseLayer() throws -> (layer: Descriptor, binds: [String]) {
        try withWriting {
            let host = try HostBase.build(layout, hashOnly: false)
            _ = try host.layer.commit()
            return (host.layer.descriptor, host.binds)
        }
    }

    /// The layers beneath a build's own (the base's), bottom first.
    public static func baseLayers(of base: BuiltImage.Base) -> [Descriptor] {
        switch base {
        case .none: return []
        case .artifact(let artifact): return artifact.layers
        case .host(let layer, _): return [layer]
        }
    }

    /// The host directories a sandbox on `base` binds (granted by this host only).
    public func hostBinds(of base: BuiltImage.Base) throws -> [String] {
        switch base {
        case .none: return []
        case .artifact(let artifact): return try hostBindPaths(of: artifact)
        case .host(_, let binds): return binds
        }
    }

    /// Writes the config and manifest of `image` and binds `tag` to it, with publish's rules:
    /// the same tag with the same bytes is a no-op, with other bytes it is refused, and nothing
    /// is named until every blob is stored.
    public func publishBuilt(_ tag: String, _ image: BuiltImage) throws -> PublishResult {
        let (name, version) = try Reference.parseTag(tag)
        let fullName = "\(name):\(version)"
        return try withWriting {
            for layer in image.layers where !hasBlob(layer) {
                throw BatonError(.notFound, "layer \(layer.digest) of the build is missing from the store; build again")
            }
            var layers: [Descriptor] = []
            var diffIDs: [Digest] = []
            var annotations: [String: String] = [:]
            var binds: [String] = []
            var config = image.config
            switch image.base {
            case .none:
                config.labels[AnnotationKey.hostBinds] = nil
            case .artifact(let base):
                layers = base.layers
                diffIDs = base.diffIDs
                annotations[AnnotationKey.base] = base.digest
                if !base.reproducible { annotations[AnnotationKey.reproducible] = "false" }
                binds = try hostBinds.binds(of: base.manifestDescriptor.digest)
            case .host(let layer, let hostBinds):
                layers = [layer]
                diffIDs = [layer.digest]
                binds = hostBinds
                config.labels[AnnotationKey.hostBinds] = hostBinds.joined(separator: ",")
                annotations[AnnotationKey.base] = "host"
                annotations[AnnotationKey.reproducible] = "false"
            }
            layers += image.layers
            diffIDs += image.layers.map(\.digest)
            let blobs = try ImageBlobs(config, diffIDs: diffIDs, layers: layers, annotations: annotations)
            try index.checkBindable(fullName, to: blobs.manifestDescriptor.digest)
            if !binds.isEmpty { try hostBinds.grant(binds, to: blobs.manifestDescriptor.digest) }
            let added = try blobs.commit(layout)
            try index.bind(fullName, to: blobs.manifestDescriptor)
            return PublishResult(
                name: fullName, digest: blobs.manifestDescriptor.digest.description, bytesAdded: added,
                layerSize: image.layers.reduce(0) { $0 + $1.size }
            )
        }
    }
}
