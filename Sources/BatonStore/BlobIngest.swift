import BatonOS
import Crypto
import Glibc

/// One blob on its way into the store: bytes go to a temp file in `store/ingest` while they are
/// hashed; `commit` verifies, fsyncs and renames it to `blobs/sha256/<hex>`. Until then no reader
/// can see it, so a crash leaves at most a temp file that `gc` removes.
final class BlobIngest {
    private let layout: StoreLayout
    let tempPath: String
    private var fd: Int32
    private var hasher = SHA256()
    private(set) var size: Int64 = 0
    private var finalDigest: Digest?

    /// - Parameter hashOnly: only hash, write nothing (to learn a digest); `commit` then fails.
    init(_ layout: StoreLayout, hashOnly: Bool = false) throws {
        self.layout = layout
        tempPath = "\(layout.ingest)/\(UInt64.random(in: 0...UInt64.max)).part"
        fd = hashOnly ? -1 : try FileIO.open(tempPath, O_WRONLY | O_CREAT | O_EXCL, 0o600)
    }

    deinit {
        if fd >= 0 {
            close(fd)
            unlink(tempPath)
        }
    }

    /// The digest of everything written; no more may be written after this.
    var digest: Digest {
        if let finalDigest { return finalDigest }
        let digest = Digest(hasher.finalize())
        finalDigest = digest
        return digest
    }

    func write(_ buffer: UnsafeRawBufferPointer) throws {
        hasher.update(bufferPointer: buffer)
        if fd >= 0 { try FileIO.writeAll(fd, buffer, path: tempPath) }
        size += Int64(buffer.count)
    }

    /// Finishes the blob. If `expected` is given, a different digest or size is refused. An
    /// already-stored blob with that digest is kept as it is (no bytes added, no fsync).
    /// - Returns: the digest, and whether new bytes were added to the store.
    @discardableResult
    func commit(expected: Digest? = nil, expectedSize: Int64? = nil, what: String = "blob") throws -> (digest: Digest, added: Bool) {
        let digest = self.digest
        let descriptor = fd
        guard descriptor >= 0 else { throw BatonError(.internal, "\(what) was only hashed, or already committed") }
        fd = -1
        func discard() {
            close(descriptor)
            unlink(tempPath)
        }
        if let expected, expected != digest {
            discard()
            throw BatonError(.corrupt, "\(what): digest mismatch: expected \(expected), content is \(digest)")
        }
        if let expectedSize, expectedSize != size {
            discard()
            throw BatonError(.corrupt, "\(what) \(digest): size mismatch: expected \(expectedSize) bytes, got \(size)")
        }
        let final = layout.blobPath(digest)
        if FileIO.fileSize(final) == size {
            discard()
            return (digest, false)
        }
        do {
            try sys("fsync \(tempPath)") { fsync(descriptor) }
        } catch {
            discard()
            throw error
        }
        close(descriptor)
        do {
            try sys("rename \(tempPath)") { rename(tempPath, final) }
        } catch {
            unlink(tempPath)
            throw error
        }
        try FileIO.fsyncPath(layout.blobs)
        return (digest, true)
    }

    /// Finishes the blob without publishing it: verified against `expected`, fsynced, and left
    /// at `tempPath` for the caller to rename (or remove).
    func seal(expected: Digest, what: String) throws -> (path: String, size: Int64) {
        let digest = self.digest
        let descriptor = fd
        fd = -1
        defer { close(descriptor) }
        guard digest == expected else {
            unlink(tempPath)
            throw BatonError(.corrupt, "\(what): digest mismatch: named \(expected), content is \(digest)")
        }
        do {
            try sys("fsync \(tempPath)") { fsync(descriptor) }
        } catch {
            unlink(tempPath)
            throw error
        }
        return (tempPath, size)
    }

    /// Stores small in-memory bytes (a manifest, a config) as one blob.
    static func store(_ bytes: [UInt8], in layout: StoreLayout, expected: Digest? = nil) throws -> Digest {
        let ingest = try BlobIngest(layout)
        try bytes.withUnsafeBytes { try ingest.write($0) }
        return try ingest.commit(expected: expected, expectedSize: expected == nil ? nil : Int64(bytes.count)).digest
    }
}
