import BatonOS

/// The artifact store under `$BATON_ROOT`: an OCI image layout at `root/store` and unpacked
/// layers at `root/layers`. Safe for concurrent processes: blobs are content-addressed and
/// renamed into place, the index changes under a lock by one atomic rename.
public struct ArtifactStore: Sendable {
    let layout: StoreLayout

    /// Opens the store under `root` (`$BATON_ROOT`). Nothing is created until something is written.
    public init(root: String) throws {
        guard root.hasPrefix("/") else {
            throw BatonError(.invalidArgument, "the Baton root '\(root)' must be an absolute path")
        }
        layout = StoreLayout(root: root)
    }

    /// The store's OCI image layout directory.
    public var storePath: String { layout.store }

    var index: IndexFile { IndexFile(layout: layout) }

    var hostBinds: HostBindGrants { HostBindGrants(layout: layout) }

    /// The host directories to bind read-only into a sandbox of `artifact`, lowest first:
    /// those this host's `publish --base host` granted it (HostBindGrants), never what its
    /// config asks for. Empty for every imported or pulled artifact.
    public func hostBindPaths(of artifact: ResolvedArtifact) throws -> [String] {
        try hostBinds.binds(of: artifact.manifestDescriptor.digest)
    }

    /// Finds `ref` (`NAME:VERSION`, `NAME@sha256:…`, `sha256:…`) and reads its manifest and
    /// config, verifying each against its descriptor.
    public func resolve(_ ref: String) throws -> ResolvedArtifact {
        let reference = try Reference(parsing: ref)
        let current = try index.read()
        func named(_ name: String) -> Descriptor? {
            current.manifests.first { $0.annotations?[AnnotationKey.refName] == name }
        }
        switch reference {
        case .tagged(let name, let version):
            guard let descriptor = named("\(name):\(version)") else {
                throw BatonError(.notFound, "no artifact named \(name):\(version) (see 'baton artifact ls')")
            }
            return try load(descriptor, name: "\(name):\(version)")
        case .pinned(let name, let digest):
            guard let descriptor = current.manifests.first(where: {
                $0.digest == digest && ($0.annotations?[AnnotationKey.refName] ?? "").hasPrefix(name + ":")
            }) else {
                throw BatonError(.notFound, "no artifact named \(name) has digest \(digest) (see 'baton artifact ls')")
            }
            return try load(descriptor, name: descriptor.annotations?[AnnotationKey.refName])
        case .digest(let digest):
            if let descriptor = current.manifests.first(where: { $0.digest == digest }) {
                return try load(descriptor, name: descriptor.annotations?[AnnotationKey.refName])
            }
            guard let size = FileIO.fileSize(layout.blobPath(digest)) else {
                throw BatonError(.notFound, "no artifact with digest \(digest) (see 'baton artifact ls')")
            }
            return try load(Descriptor(mediaType: MediaType.imageManifest, digest: digest, size: size), name: nil)
        }
    }

    /// Absolute paths of the artifact's unpacked layer directories, top first (ready for an
    /// overlay `lowerdir`), unpacking (verified) any not yet unpacked.
    public func unpackedLayers(of artifact: ResolvedArtifact) throws -> [String] {
        let unpacker = LayerUnpacker(layout: layout)
        return try withWriting {
            try artifact.layers.map { try unpacker.unpack($0) }.reversed()
        }
    }

    /// Runs `body` (unpack an artifact's layers, launch a sandbox on them) with the store's
    /// writer lock held: `gc` waits, so it cannot remove the layers of an unnamed artifact
    /// between their unpacking and the moment the sandbox's record names the artifact.
    public func holdingLayers<T>(_ body: () throws -> T) throws -> T {
        try withWriting(body)
    }

    /// Runs a change that adds blobs or layers: creates the layout if needed and holds the
    /// shared writer lock, so `gc` cannot remove what the change is adding.
    func withWriting<T>(_ body: () throws -> T) throws -> T {
        try layout.create()
        return try StoreLock.withWriterLock(layout, body)
    }

    /// Reads a blob (small: a manifest or config) and checks it against `descriptor`.
    func readVerified(_ descriptor: Descriptor, what: String, limit: Int = 16 << 20) throws -> [UInt8] {
        let path = layout.blobPath(descriptor.digest)
        guard FileIO.exists(path) else {
            throw BatonError(.corrupt, "\(what) \(descriptor.digest) is missing from the store")
        }
        guard descriptor.size <= limit else {
            throw BatonError(.corrupt, "\(what) \(descriptor.digest) is \(descriptor.size) bytes, more than \(limit) allowed")
        }
        let bytes = try FileIO.readAll(path, limit: limit)
        let actual = Digest.of(bytes)
        guard actual == descriptor.digest, Int64(bytes.count) == descriptor.size else {
            throw BatonError(.corrupt,
                "\(what) does not match its descriptor: expected \(descriptor.digest) (\(descriptor.size) bytes), found \(actual) (\(bytes.count) bytes); the store is damaged")
        }
        return bytes
    }

    func load(_ descriptor: Descriptor, name: String?) throws -> ResolvedArtifact {
        let manifestBytes = try readVerified(descriptor, what: "manifest")
        let manifest = try CanonicalJSON.decode(Manifest.self, from: manifestBytes, what: "manifest \(descriptor.digest)")
        guard manifest.schemaVersion == 2, manifest.mediaType == nil || MediaType.isManifest(manifest.mediaType) else {
            throw BatonError(.corrupt, "\(descriptor.digest) is not an image manifest")
        }
        let configBytes = try readVerified(manifest.config, what: "image config")
        let config = try CanonicalJSON.decode(OCIImageConfig.self, from: configBytes, what: "image config \(manifest.config.digest)")
        return ResolvedArtifact(
            name: name, digest: descriptor.digest.description, manifestDescriptor: descriptor,
            configDescriptor: manifest.config, config: config.imageConfig, layers: manifest.layers,
            annotations: manifest.annotations ?? [:], diffIDs: config.rootfs.diff_ids
        )
    }
}
