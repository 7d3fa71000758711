import BatonOS

/// `index.json`: which manifest each `NAME:VERSION` names. Read without a lock (it is only ever
/// replaced by rename, so a reader sees one whole version); changed under the index lock.
struct IndexFile {
    let layout: StoreLayout

    func read() throws -> ImageIndex {
        guard layout.exists else { return .empty }
        let bytes = try FileIO.readAll(layout.index)
        return try CanonicalJSON.decode(ImageIndex.self, from: bytes, what: "store index \(layout.index)")
    }

    /// The manifest descriptor bound to `name`, if any.
    func entry(named name: String) throws -> Descriptor? {
        try read().manifests.first { $0.annotations?[AnnotationKey.refName] == name }
    }

    /// Applies `change` to the current index under the lock and writes the result with one
    /// atomic rename. `change` may throw to leave the index as it was.
    func update<T>(_ change: (inout ImageIndex) throws -> T) throws -> T {
        try StoreLock.withIndexLock(layout) {
            var index = try read()
            let result = try change(&index)
            index.manifests.sort { ($0.annotations?[AnnotationKey.refName] ?? "") < ($1.annotations?[AnnotationKey.refName] ?? "") }
            try FileIO.writeAtomically(try CanonicalJSON.encode(index), to: layout.index)
            return result
        }
    }

    /// Throws the conflict `bind` would, without taking the lock or changing anything.
    func checkBindable(_ name: String, to digest: Digest) throws {
        if let existing = try entry(named: name)?.digest ?? retired(name, in: try read()), existing != digest {
            throw conflict(name, existing: existing, new: digest)
        }
    }

    private func retired(_ name: String, in index: ImageIndex) -> Digest? {
        index.annotations?[IndexFile.retiredPrefix + name].flatMap(Digest.init)
    }

    private func conflict(_ name: String, existing: Digest, new: Digest) -> BatonError {
        BatonError(.conflict,
            "\(name) is already published as \(existing); refusing to bind it to \(new) (versions are immutable: publish a new VERSION)")
    }

    /// Index annotation prefix recording names removed with `rm`: a removed NAME:VERSION stays
    /// bound to its digest, so it can be published again only with the same bytes.
    static let retiredPrefix = "org.baton.retired."

    /// Binds `name` to `descriptor`. Binding it again to the same digest is a no-op; to another
    /// digest it is refused, naming both.
    func bind(_ name: String, to descriptor: Descriptor) throws {
        try update { index in
            if let existing = index.manifests.first(where: { $0.annotations?[AnnotationKey.refName] == name }) {
                guard existing.digest == descriptor.digest else {
                    throw conflict(name, existing: existing.digest, new: descriptor.digest)
                }
                return
            }
            if let existing = retired(name, in: index), existing != descriptor.digest {
                throw conflict(name, existing: existing, new: descriptor.digest)
            }
            var entry = descriptor
            // Kept from the caller: where a pulled artifact came from (AnnotationKey.source).
            entry.annotations = (descriptor.annotations ?? [:]).merging([AnnotationKey.refName: name]) { $1 }
            entry.platform = nil
            index.manifests.append(entry)
        }
    }
}
