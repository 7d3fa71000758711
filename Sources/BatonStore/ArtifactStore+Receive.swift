import BatonOS
import Glibc

/// Receiving an artifact from another host (`baton artifact push REF ssh://HOST`), one blob at a
/// time: the sender asks which blobs are missing, sends each (verified against its digest as it
/// is written, through the same `BlobIngest` as import and publish), then binds the name to the
/// manifest, which is checked to reach only blobs the store holds. The peer is not trusted:
/// digests, sizes, the manifest and the name are all checked here.
extension ArtifactStore {
    /// Largest blob a peer may send (a layer of a large image fits; a full disk does not).
    public static let maxReceivedBlobSize: Int64 = 16 << 30
    /// Most digests one question about missing blobs may name.
    public static let maxBlobsAsked = 4096

    /// Of `digests` (`sha256:<hex>`), those the store does not hold, in the order given.
    public func missingBlobs(_ digests: [String]) throws -> [String] {
        guard digests.count <= Self.maxBlobsAsked else {
            throw BatonError(.invalidArgument, "asked about \(digests.count) blobs; at most \(Self.maxBlobsAsked) at once")
        }
        return try digests.filter { text in FileIO.fileSize(layout.blobPath(try Self.digest(text))) == nil }
    }

    /// Throws the conflict binding `name` to `digest` would meet; true when it is bound to it
    /// already (the push then has nothing to do).
    public func isBound(_ name: String, to digest: String) throws -> Bool {
        let (name, version) = try Reference.parseTag(name)
        let digest = try Self.digest(digest)
        try index.checkBindable("\(name):\(version)", to: digest)
        return try index.entry(named: "\(name):\(version)")?.digest == digest
    }

    /// A receiver for one blob of `size` bytes that must hash to `digest`.
    public func receiveBlob(digest: String, size: Int64) throws -> BlobReceiver {
        try BlobReceiver(layout, digest: try Self.digest(digest), size: size)
    }

    /// Binds `name` to the manifest `manifestDigest` after checking that the manifest, its
    /// config and every layer are in the store and match their descriptors. Same name and
    /// digest again: nothing changes; the name bound to another digest: refused.
    public func bindReceived(name: String, manifestDigest: String, manifestSize: Int64, mediaType: String) throws -> PublishResult {
        let (name, version) = try Reference.parseTag(name)
        let fullName = "\(name):\(version)"
        let digest = try Self.digest(manifestDigest)
        guard MediaType.isManifest(mediaType) else {
            throw BatonError(.invalidArgument, "\(digest) has media type '\(mediaType)', not an image manifest")
        }
        return try withWriting {
            let descriptor = Descriptor(mediaType: mediaType, digest: digest, size: manifestSize)
            // Verifies manifest and config bytes against their digests and sizes.
            let artifact = try load(descriptor, name: fullName)
            for layer in artifact.layers {
                guard MediaType.isLayer(layer.mediaType) else {
                    throw BatonError(.corrupt, "layer \(layer.digest) has unsupported media type '\(layer.mediaType)'")
                }
                guard let size = FileIO.fileSize(layout.blobPath(layer.digest)) else {
                    throw BatonError(.notFound, "layer \(layer.digest) is not in the store (removed by gc meanwhile?): push again")
                }
                guard size == layer.size else {
                    throw BatonError(.corrupt, "layer \(layer.digest) is \(size) bytes, its descriptor says \(layer.size)")
                }
            }
            try index.bind(fullName, to: descriptor)
            return PublishResult(name: fullName, digest: digest.description, bytesAdded: 0, layerSize: artifact.layers.reduce(0) { $0 + $1.size })
        }
    }

    /// The store's file for a blob it holds (what a sender reads), nil when it lacks it.
    public func blobFile(_ digest: Digest) -> String? {
        let path = layout.blobPath(digest)
        return FileIO.fileSize(path) == nil ? nil : path
    }

    private static func digest(_ text: String) throws -> Digest {
        guard let digest = Digest(text) else {
            throw BatonError(.invalidArgument, "'\(text.prefix(80))' is not a digest (sha256:<64 hex>)")
        }
        return digest
    }
}

/// One blob arriving from a peer: written to `store/ingest` while hashed, and renamed into the
/// store by `finish` only if its digest and size are what was announced. Until then nothing is
/// visible; dropped unfinished, it leaves nothing. It holds the store's writer lock (shared)
/// while it lives, so `gc` does not remove its file mid-transfer.
public final class BlobReceiver {
    private let ingest: BlobIngest
    private let lockFD: Int32
    public let digest: Digest
    public let size: Int64
    public private(set) var received: Int64 = 0

    init(_ layout: StoreLayout, digest: Digest, size: Int64) throws {
        guard size >= 0, size <= ArtifactStore.maxReceivedBlobSize else {
            throw BatonError(.invalidArgument, "blob \(digest) of \(size) bytes: blobs may be at most \(ArtifactStore.maxReceivedBlobSize) bytes")
        }
        try layout.create()
        lockFD = try StoreLock.holdWriterLock(layout)
        do {
            ingest = try BlobIngest(layout)
        } catch {
            close(lockFD)
            throw error
        }
        self.digest = digest
        self.size = size
    }

    deinit { close(lockFD) }

    /// Hashes and writes the next bytes; more than the announced size is refused.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard received + Int64(bytes.count) <= size else {
            throw BatonError(.invalidArgument, "blob \(digest): more than the \(size) bytes announced")
        }
        try ingest.write(bytes)
        received += Int64(bytes.count)
    }

    /// Verifies digest and size, fsyncs and renames the blob into the store.
    /// - Returns: whether new bytes were added (false when the store held it already).
    @discardableResult
    public func finish() throws -> Bool {
        try ingest.commit(expected: digest, expectedSize: size, what: "blob \(digest)").added
    }
}
