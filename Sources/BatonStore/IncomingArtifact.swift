import BatonOS
import Glibc

/// An artifact arriving from outside the store (a registry pull), blob by blob. Each blob is
/// written to `store/ingest` while hashed and checked against its descriptor (digest and size)
/// before it is staged; nothing is visible until `commit` has checked the whole image and
/// renames the blobs into place and binds the name. Dropped without `commit`, the staged blobs
/// are removed: a failed pull leaves the store as it was. Holds the store's writer lock from
/// creation to the end, so `gc` never removes a blob this pull is about to name.
public final class IncomingArtifact {
    private let store: ArtifactStore
    private let staged: StagedBlobs
    private var lockFD: Int32

    public init(_ store: ArtifactStore) throws {
        self.store = store
        try store.layout.create()
        lockFD = try FileIO.open(store.layout.ingest, O_RDONLY | O_DIRECTORY)
        let fd = lockFD
        do {
            try sys("flock \(store.layout.ingest)") { flock(fd, LOCK_SH) }
        } catch {
            close(fd)
            throw error
        }
        staged = StagedBlobs(store.layout)
    }

    deinit {
        close(lockFD)
    }

    /// Whether a blob with this digest and size is in the store or already staged.
    public func has(_ descriptor: Descriptor) -> Bool {
        staged.size(of: descriptor.digest) == descriptor.size
    }

    /// Starts receiving the blob `descriptor` names. Bytes past its size are refused as they arrive.
    public func receive(_ descriptor: Descriptor, what: String) throws -> IncomingBlob {
        IncomingBlob(descriptor, what: what, ingest: try BlobIngest(store.layout), staged: staged)
    }

    /// Stages small bytes already in memory (a manifest, a config), checked against `descriptor`.
    public func add(_ bytes: [UInt8], as descriptor: Descriptor, what: String) throws {
        let blob = try receive(descriptor, what: what)
        try bytes.withUnsafeBytes { try blob.write($0) }
        try blob.finish()
    }

    /// Throws the conflict binding `name` to `digest` would, changing nothing: a pull checks
    /// this before it downloads anything.
    public func checkBindable(_ name: String, to digest: Digest) throws {
        let (base, version) = try Reference.parseTag(name)
        try store.index.checkBindable("\(base):\(version)", to: digest)
    }

    /// Checks the image (manifest, config, every layer staged or stored with its descriptor's
    /// size and a layer media type), makes its blobs visible and binds `name` to the manifest.
    /// `annotations` are kept on the index entry (e.g. where the image came from).
    public func commit(manifest descriptor: Descriptor, name: String, annotations: [String: String] = [:]) throws -> PublishResult {
        let (base, version) = try Reference.parseTag(name)
        let fullName = "\(base):\(version)"
        let manifestBytes = try staged.read(descriptor, what: "manifest")
        let manifest = try CanonicalJSON.decode(Manifest.self, from: manifestBytes, what: "manifest \(descriptor.digest)")
        guard manifest.schemaVersion == 2, MediaType.isManifest(descriptor.mediaType) else {
            throw BatonError(.corrupt, "\(descriptor.digest) is not an image manifest (media type '\(descriptor.mediaType)')")
        }
        let configBytes = try staged.read(manifest.config, what: "image config")
        _ = try CanonicalJSON.decode(OCIImageConfig.self, from: configBytes, what: "image config \(manifest.config.digest)")
        for layer in manifest.layers {
            guard MediaType.isLayer(layer.mediaType) else {
                throw BatonError(.corrupt, "layer \(layer.digest) has unsupported media type '\(layer.mediaType)'")
            }
            guard staged.size(of: layer.digest) == layer.size else {
                throw BatonError(.corrupt, "layer \(layer.digest) was not received whole (\(layer.size) bytes expected)")
            }
        }
        try store.index.checkBindable(fullName, to: descriptor.digest)
        let added = try staged.commit(Set([descriptor.digest, manifest.config.digest] + manifest.layers.map(\.digest)))
        var entry = Descriptor(mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size)
        entry.annotations = annotations.isEmpty ? nil : annotations
        try store.index.bind(fullName, to: entry)
        return PublishResult(
            name: fullName, digest: descriptor.digest.description, bytesAdded: added,
            layerSize: manifest.layers.reduce(0) { $0 + $1.size })
    }
}

/// One blob being received: hashed as it is written, checked against its descriptor by `finish`.
public final class IncomingBlob {
    private let descriptor: Descriptor
    private let what: String
    private let ingest: BlobIngest
    private let staged: StagedBlobs
    private var finished = false

    init(_ descriptor: Descriptor, what: String, ingest: BlobIngest, staged: StagedBlobs) {
        self.descriptor = descriptor
        self.what = what
        self.ingest = ingest
        self.staged = staged
    }

    /// Bytes written so far.
    public var written: Int64 { ingest.size }

    public func write(_ buffer: UnsafeRawBufferPointer) throws {
        guard ingest.size + Int64(buffer.count) <= descriptor.size else {
            throw BatonError(.corrupt, "\(what) \(descriptor.digest): more bytes arrived than its descriptor's \(descriptor.size)")
        }
        try ingest.write(buffer)
    }

    /// Verifies size and digest, fsyncs, and stages the blob for the artifact's commit.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        guard ingest.size == descriptor.size else {
            throw BatonError(.corrupt, "\(what) \(descriptor.digest): received \(ingest.size) bytes, its descriptor says \(descriptor.size)")
        }
        let (path, size) = try ingest.seal(expected: descriptor.digest, what: "\(what) \(descriptor.digest)")
        staged.adopt(descriptor.digest, path: path, size: size)
    }
}
