import BatonOS
import Glibc

/// Blobs read from an archive, verified and fsynced in `store/ingest` but not yet visible.
/// `commit` renames the ones an artifact needs into `blobs/sha256`; whatever is left is removed
/// when the import ends, so a failed import leaves the store as it was.
final class StagedBlobs {
    private let layout: StoreLayout
    private var staged: [Digest: (path: String, size: Int64)] = [:]

    init(_ layout: StoreLayout) { self.layout = layout }

    deinit {
        for (_, blob) in staged { unlink(blob.path) }
    }

    /// Streams the current archive entry into a staged blob; its content must hash to `digest`.
    func stage(from reader: TarReader, digest: Digest, entryPath: String) throws {
        if staged[digest] != nil { return }
        let ingest = try BlobIngest(layout)
        try reader.readData { try ingest.write($0) }
        let (path, size) = try ingest.seal(expected: digest, what: "archive entry '\(entryPath)'")
        staged[digest] = (path, size)
    }

    /// Takes over a sealed (verified, fsynced) ingest file.
    func adopt(_ digest: Digest, path: String, size: Int64) {
        if let old = staged.updateValue((path, size), forKey: digest), old.path != path { unlink(old.path) }
    }

    /// Size of a blob that is staged or already in the store.
    func size(of digest: Digest) -> Int64? {
        staged[digest]?.size ?? FileIO.fileSize(layout.blobPath(digest))
    }

    /// Bytes of a small staged or stored blob, checked against `descriptor`.
    func read(_ descriptor: Descriptor, what: String) throws -> [UInt8] {
        let path = staged[descriptor.digest]?.path ?? layout.blobPath(descriptor.digest)
        guard FileIO.exists(path) else {
            throw BatonError(.corrupt, "the archive lacks \(what) \(descriptor.digest)")
        }
        guard descriptor.size <= 16 << 20 else {
            throw BatonError(.corrupt, "\(what) \(descriptor.digest) is too large (\(descriptor.size) bytes)")
        }
        let bytes = try FileIO.readAll(path)
        let digest = Digest.of(bytes)
        guard digest == descriptor.digest, Int64(bytes.count) == descriptor.size else {
            throw BatonError(.corrupt,
                "\(what) does not match its descriptor: expected \(descriptor.digest) (\(descriptor.size) bytes), found \(digest) (\(bytes.count) bytes)")
        }
        return bytes
    }

    /// Makes `digests` visible in the store. Returns the bytes added.
    func commit(_ digests: Set<Digest>) throws -> Int64 {
        var added: Int64 = 0
        for digest in digests.sorted() {
            guard let blob = staged.removeValue(forKey: digest) else { continue }
            if FileIO.fileSize(layout.blobPath(digest)) == blob.size {
                unlink(blob.path)
                continue
            }
            try sys("rename \(blob.path)") { rename(blob.path, layout.blobPath(digest)) }
            added += blob.size
        }
        try FileIO.fsyncPath(layout.blobs)
        return added
    }
}
