import BatonOS

extension ArtifactStore {
    /// Checks that every named artifact is whole: its manifest, config and each layer exist and
    /// match their descriptors' digests and sizes. Returns one line per problem (empty: valid).
    public func verify() throws -> [String] {
        var problems: [String] = []
        for descriptor in try index.read().manifests {
            let name = descriptor.annotations?[AnnotationKey.refName] ?? descriptor.digest.description
            do {
                let artifact = try load(descriptor, name: name)
                for layer in artifact.layers {
                    let path = layout.blobPath(layer.digest)
                    guard FileIO.fileSize(path) == layer.size else {
                        problems.append("\(name): layer \(layer.digest) is missing or has the wrong size")
                        continue
                    }
                    let reader = try HashingFileReader(path: path)
                    try reader.forEachChunk(limit: layer.size) { _ in }
                    if reader.digest != layer.digest {
                        problems.append("\(name): layer \(layer.digest) does not match its digest")
                    }
                }
            } catch let error as BatonError {
                problems.append("\(name): \(error.message)")
            }
        }
        return problems
    }
}
