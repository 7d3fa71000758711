import BatonOS
import Glibc

extension ArtifactStore {
    /// Every named artifact, sorted by name.
    public func list() throws -> [ArtifactSummary] {
        try index.read().manifests.compactMap { descriptor in
            guard let name = descriptor.annotations?[AnnotationKey.refName] else { return nil }
            let size = (try? load(descriptor, name: name).size) ?? descriptor.size
            return ArtifactSummary(name: name, digest: descriptor.digest.description, size: size)
        }.sorted { $0.name < $1.name }
    }

    /// Digest, size, layers, base, config and reproducibility of `ref`.
    public func inspect(_ ref: String) throws -> ArtifactDetails {
        let artifact = try resolve(ref)
        return ArtifactDetails(artifact, hostBinds: try hostBindPaths(of: artifact))
    }

    /// Removes the name (or, for a bare digest, every name bound to it). Blobs stay until `gc`.
    /// The name stays bound to its digest: it can be published again only with the same bytes.
    /// - Returns: the names removed.
    @discardableResult
    public func remove(_ ref: String) throws -> [String] {
        let reference = try Reference(parsing: ref)
        guard layout.exists else { throw BatonError(.notFound, "no artifact \(ref) (the store is empty)") }
        return try index.update { index in
            let matches: (Descriptor) -> Bool = { descriptor in
                let name = descriptor.annotations?[AnnotationKey.refName] ?? ""
                switch reference {
                case .tagged(let n, let v): return name == "\(n):\(v)"
                case .pinned(let n, let digest): return descriptor.digest == digest && name.hasPrefix(n + ":")
                case .digest(let digest): return descriptor.digest == digest
                }
            }
            let removed = index.manifests.filter(matches)
            guard !removed.isEmpty else {
                throw BatonError(.notFound, "no artifact \(ref) (see 'baton artifact ls')")
            }
            index.manifests.removeAll(where: matches)
            var annotations = index.annotations ?? [:]
            for descriptor in removed {
                if let name = descriptor.annotations?[AnnotationKey.refName] {
                    annotations[IndexFile.retiredPrefix + name] = descriptor.digest.description
                }
            }
            index.annotations = annotations
            return removed.compactMap { $0.annotations?[AnnotationKey.refName] }
        }
    }

    /// Removes blobs and unpacked layers that no name reaches, and leftovers of interrupted
    /// writes. Waits for writers in progress (they hold the ingest lock shared). Artifacts in
    /// `inUse` (manifest digests of running sandboxes) are kept even without a name: their
    /// unpacked layers are the sandboxes' root.
    public func collectGarbage(keeping inUse: Set<String> = []) throws -> GarbageReport {
        guard layout.exists else { return GarbageReport() }
        return try StoreLock.withCollectorLock(layout) {
            var reachable = try reachableBlobs()
            for digest in inUse.compactMap(Digest.init) where !reachable.contains(digest) {
                let size = FileIO.fileSize(layout.blobPath(digest)) ?? 0
                reachable.formUnion(reached(from: Descriptor(mediaType: MediaType.imageManifest, digest: digest, size: size)))
            }
            var report = GarbageReport()
            for hex in FileIO.listDirectory(layout.blobs) {
                if let digest = Digest("sha256:" + hex), reachable.contains(digest) { continue }
                report.freedBytes += FileIO.fileSize(layout.blobs + "/" + hex) ?? 0
                unlink(layout.blobs + "/" + hex)
                report.removedBlobs += 1
            }
            for name in FileIO.listDirectory(layout.ingest) {
                unlink(layout.ingest + "/" + name)
            }
            for name in FileIO.listDirectory(layout.layers) {
                if let digest = Digest("sha256:" + name), reachable.contains(digest) { continue }
                FileIO.removeTree(layout.layers + "/" + name)
                if !name.hasPrefix(".tmp-") { report.removedLayers += 1 }
            }
            try FileIO.fsyncPath(layout.blobs)
            hostBinds.prune(keeping: reachable)
            return report
        }
    }

    /// Manifests, configs and layers reachable from the index. A damaged manifest keeps
    /// itself alive (so it can be inspected) but reaches nothing else.
    private func reachableBlobs() throws -> Set<Digest> {
        var reachable: Set<Digest> = []
        for descriptor in try index.read().manifests {
            reachable.formUnion(reached(from: descriptor))
        }
        return reachable
    }

    /// A manifest, its config and its layers.
    private func reached(from descriptor: Descriptor) -> Set<Digest> {
        var reachable: Set<Digest> = [descriptor.digest]
        guard let bytes = try? readVerified(descriptor, what: "manifest"),
            let manifest = try? CanonicalJSON.decode(Manifest.self, from: bytes, what: "manifest")
        else { return reachable }
        reachable.insert(manifest.config.digest)
        for layer in manifest.layers { reachable.insert(layer.digest) }
        return reachable
    }
}
