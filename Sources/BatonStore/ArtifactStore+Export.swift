import BatonOS
import FoundationEssentials
import Glibc

extension ArtifactStore {
    /// Writes `ref` as an OCI archive (a tar of an image layout holding just this artifact) to
    /// `path`: into a temp file beside it, renamed when complete. Each blob is verified against
    /// its descriptor as it is copied.
    public func exportArchive(_ ref: String, to path: String) throws {
        let artifact = try resolve(ref)
        let directory = PathName.parent(of: path)
        guard PathName.isDirectory(directory) else {
            throw BatonError(.notFound, "directory \(directory) for \(path) does not exist")
        }
        try FileIO.replaceAtomically(path, mode: 0o644) { fd, temp in try writeArchive(artifact, to: fd, path: temp) }
    }

    private func writeArchive(_ artifact: ResolvedArtifact, to fd: Int32, path: String) throws {
        let writer = try TarWriter { try FileIO.writeAll(fd, $0, path: path) }
        var entry = artifact.manifestDescriptor
        entry.annotations = artifact.name.map { [AnnotationKey.refName: $0] }
        entry.platform = nil
        let index = ImageIndex(schemaVersion: 2, mediaType: MediaType.imageIndex, manifests: [entry], annotations: nil)
        let files: [(String, [UInt8])] = [
            ("oci-layout", Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8)),
            ("index.json", try CanonicalJSON.encode(index)),
        ]
        for (name, bytes) in files {
            try writer.writeHeader(path: name, kind: .file(size: Int64(bytes.count)), permissions: 0o644)
            try bytes.withUnsafeBytes { try writer.writeData($0) }
        }
        try writer.writeHeader(path: "blobs", kind: .directory, permissions: 0o755)
        try writer.writeHeader(path: "blobs/sha256", kind: .directory, permissions: 0o755)
        var written: Set<Digest> = []
        for blob in [artifact.manifestDescriptor, artifact.configDescriptor] + artifact.layers
        where written.insert(blob.digest).inserted {
            try copyBlob(blob, into: writer)
        }
        try writer.finish()
    }

    private func copyBlob(_ descriptor: Descriptor, into writer: TarWriter) throws {
        let source = layout.blobPath(descriptor.digest)
        guard FileIO.fileSize(source) == descriptor.size else {
            throw BatonError(.corrupt, "blob \(descriptor.digest) is missing or has the wrong size; the store is damaged")
        }
        try writer.writeHeader(path: "blobs/sha256/\(descriptor.digest.hex)", kind: .file(size: descriptor.size), permissions: 0o644)
        let hashed = try HashingFileReader(path: source)
        try hashed.forEachChunk(limit: descriptor.size) { try writer.writeData($0) }
        guard hashed.digest == descriptor.digest else {
            throw BatonError(.corrupt, "blob \(descriptor.digest) does not match its digest (content is \(hashed.digest)); the store is damaged")
        }
    }
}
