import BatonOS

extension ArtifactStore {
    /// Imports an OCI archive (a tar of an OCI image layout, as `skopeo copy … oci-archive:` or
    /// Docker 25+'s `docker save` write) and binds it to `name`, or to the `NAME:VERSION` the
    /// archive's index names. Every blob is checked against its digest; nothing becomes visible
    /// unless the whole artifact is there and valid.
    public func importArchive(_ path: String, name: String? = nil) throws -> PublishResult {
        let requested = try name.map { try Reference.parseTag($0) }
        guard FileIO.isRegularFollowing(path) else {
            throw BatonError(.notFound, "archive \(path) does not exist or is not a file")
        }
        return try withWriting {
            let staged = StagedBlobs(layout)
            let archiveIndex = try readArchive(path, into: staged)
            let chosen = try chooseManifest(archiveIndex, requested: requested, staged: staged, path: path)
            let manifestBytes = try staged.read(chosen, what: "manifest")
            let manifest = try CanonicalJSON.decode(Manifest.self, from: manifestBytes, what: "manifest \(chosen.digest)")
            let configBytes = try staged.read(manifest.config, what: "image config")
            _ = try CanonicalJSON.decode(OCIImageConfig.self, from: configBytes, what: "image config \(manifest.config.digest)")
            for layer in manifest.layers {
                guard MediaType.isLayer(layer.mediaType) else {
                    throw BatonError(.corrupt, "layer \(layer.digest) has unsupported media type '\(layer.mediaType)'")
                }
                guard let size = staged.size(of: layer.digest) else {
                    throw BatonError(.corrupt, "the archive lacks layer \(layer.digest)")
                }
                guard size == layer.size else {
                    throw BatonError(.corrupt, "layer \(layer.digest) is \(size) bytes, its descriptor says \(layer.size)")
                }
            }
            let fullName = try requested.map { "\($0.name):\($0.version)" } ?? nameFromArchive(chosen, archiveIndex, path: path)
            try index.checkBindable(fullName, to: chosen.digest)
            let needed = Set([chosen.digest, manifest.config.digest] + manifest.layers.map(\.digest))
            let added = try staged.commit(needed)
            let descriptor = Descriptor(mediaType: chosen.mediaType, digest: chosen.digest, size: chosen.size)
            try index.bind(fullName, to: descriptor)
            return PublishResult(
                name: fullName, digest: chosen.digest.description, bytesAdded: added,
                layerSize: manifest.layers.reduce(0) { $0 + $1.size }
            )
        }
    }

    /// Streams the archive once: blobs are staged (verified by their names), index.json kept.
    private func readArchive(_ path: String, into staged: StagedBlobs) throws -> ImageIndex {
        let reader = try TarReader(path: path)
        var indexBytes: [UInt8]?
        while let entry = try reader.next() {
            guard let entryPath = try? EntryPath(entry.path) else { continue }
            let relative = entryPath.description
            if relative == "index.json", entry.kind == .file {
                indexBytes = try reader.readAll(limit: 16 << 20)
            } else if entryPath.components.count == 3, entryPath.components[0] == "blobs",
                entryPath.components[1] == "sha256", entry.kind == .file
            {
                let hex = entryPath.components[2]
                guard Digest.isHex64(hex) else {
                    throw BatonError(.corrupt, "archive entry '\(entry.path)' is not named by a sha256 digest")
                }
                try staged.stage(from: reader, digest: Digest(hex: hex), entryPath: entry.path)
            }
        }
        guard let indexBytes else {
            throw BatonError(.corrupt,
                "\(path) is not an OCI archive: it has no index.json (Docker 25+'s docker save and skopeo's oci-archive: write one)")
        }
        return try CanonicalJSON.decode(ImageIndex.self, from: indexBytes, what: "index.json in \(path)")
    }

    /// The one image manifest the archive offers, descending into an image index for this
    /// host's platform.
    private func chooseManifest(
        _ archiveIndex: ImageIndex, requested: (name: String, version: String)?, staged: StagedBlobs, path: String
    ) throws -> Descriptor {
        var candidates = archiveIndex.manifests
        if candidates.count > 1, let requested {
            let wanted: Set<String> = ["\(requested.name):\(requested.version)", requested.version]
            candidates = candidates.filter { wanted.contains($0.annotations?[AnnotationKey.refName] ?? "") }
        }
        guard candidates.count == 1, var chosen = candidates.first else {
            let names = archiveIndex.manifests.compactMap { $0.annotations?[AnnotationKey.refName] }
            throw BatonError(.invalidArgument, archiveIndex.manifests.isEmpty
                ? "\(path) holds no image"
                : "\(path) holds \(archiveIndex.manifests.count) images (\(names.joined(separator: ", "))); choose one with --name NAME:VERSION matching its ref name")
        }
        if MediaType.isIndex(chosen.mediaType) {
            let nested = try CanonicalJSON.decode(ImageIndex.self, from: try staged.read(chosen, what: "image index"), what: "image index \(chosen.digest)")
            let images = nested.manifests.filter { MediaType.isManifest($0.mediaType) }
            let forHost = images.filter { $0.platform == nil || ($0.platform?.os == "linux" && $0.platform?.architecture == hostArchitecture) }
            guard let image = forHost.first ?? (images.count == 1 ? images.first : nil) else {
                throw BatonError(.invalidArgument, "\(path) has no image for linux/\(hostArchitecture)")
            }
            var picked = image
            picked.annotations = chosen.annotations
            chosen = picked
        }
        guard MediaType.isManifest(chosen.mediaType) else {
            throw BatonError(.corrupt, "\(path): \(chosen.digest) has media type '\(chosen.mediaType)', not an image manifest")
        }
        return chosen
    }

    private func nameFromArchive(_ chosen: Descriptor, _ archiveIndex: ImageIndex, path: String) throws -> String {
        let annotations = chosen.annotations ?? [:]
        for candidate in [annotations[AnnotationKey.refName], annotations["io.containerd.image.name"]].compactMap({ $0 }) {
            if let tag = try? Reference.parseTag(candidate) { return "\(tag.name):\(tag.version)" }
        }
        throw BatonError(.invalidArgument, "\(path) does not name its image as NAME:VERSION; pass --name NAME:VERSION")
    }
}
