/// An artifact's config and manifest, encoded (so their digests are known) but not yet stored.
struct ImageBlobs {
    let configBytes: [UInt8]
    let manifestBytes: [UInt8]
    let manifestDescriptor: Descriptor

    init(_ image: ImageConfig, diffIDs: [Digest], layers: [Descriptor], annotations: [String: String]) throws {
        configBytes = try CanonicalJSON.encode(OCIImageConfig(image, diffIDs: diffIDs))
        let manifest = Manifest(
            schemaVersion: 2, mediaType: MediaType.imageManifest,
            config: Descriptor(mediaType: MediaType.imageConfig, digest: Digest.of(configBytes), size: Int64(configBytes.count)),
            layers: layers.map { Descriptor(mediaType: $0.mediaType, digest: $0.digest, size: $0.size) },
            annotations: annotations.isEmpty ? nil : annotations
        )
        manifestBytes = try CanonicalJSON.encode(manifest)
        manifestDescriptor = Descriptor(
            mediaType: MediaType.imageManifest, digest: Digest.of(manifestBytes), size: Int64(manifestBytes.count)
        )
    }

    /// Stores config then manifest (so a stored manifest's config is always there). Returns
    /// the bytes added.
    func commit(_ layout: StoreLayout) throws -> Int64 {
        var added: Int64 = 0
        for bytes in [configBytes, manifestBytes] {
            let existed = FileIO.exists(layout.blobPath(Digest.of(bytes)))
            _ = try BlobIngest.store(bytes, in: layout)
            if !existed { added += Int64(bytes.count) }
        }
        return added
    }
}
