import BatonOS
import Glibc

extension ArtifactStore {
    /// Packs `directory` as one deterministic layer on top of `options.base`, writes config and
    /// manifest, and binds `tag` (`NAME:VERSION`) to the manifest. The same tag with the same
    /// bytes succeeds with the same digest; with other bytes it is refused.
    /// - Parameter progress: called with the layer bytes written so far, from this thread.
    public func publish(
        _ tag: String, directory: String, options: PublishOptions = PublishOptions(),
        progress: ((Int64) -> Void)? = nil
    ) throws -> PublishResult {
        let (name, version) = try Reference.parseTag(tag)
        let fullName = "\(name):\(version)"
        try options.validate()
        var info = stat()
        guard stat(directory, &info) == 0 else {
            throw BatonError(.notFound, "directory \(directory) does not exist")
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw BatonError(.invalidArgument, "\(directory) is not a directory")
        }
        var base: ResolvedArtifact?
        if case .artifact(let ref) = options.base { base = try resolve(ref) }

        return try withWriting {
            // Republishing a bound name only needs the digest: hash without writing, then either
            // it is the same artifact (nothing to add) or the publish is refused.
            let bound = try index.entry(named: fullName)
            let hashOnly = bound != nil
            var layers = base?.layers ?? []
            var diffIDs = base?.diffIDs ?? []
            var image = base?.config ?? ImageConfig()
            var pending: [PendingLayer] = []
            var annotations: [String: String] = [:]
            // Granted only by this host's own publish, never read from a config (HostBindGrants).
            var binds = try base.map { try hostBinds.binds(of: $0.manifestDescriptor.digest) } ?? []
            if let base {
                annotations[AnnotationKey.base] = base.digest
                if !base.reproducible { annotations[AnnotationKey.reproducible] = "false" }
            }
            if options.base == .host {
                let host = try HostBase.build(layout, hashOnly: hashOnly)
                pending.append(host.layer)
                layers.append(host.layer.descriptor)
                diffIDs.append(host.layer.descriptor.digest)
                binds = host.binds
                image.labels[AnnotationKey.hostBinds] = host.binds.joined(separator: ",")
                annotations[AnnotationKey.base] = "host"
                annotations[AnnotationKey.reproducible] = "false"
            }
            let app = try buildLayer(
                directory, mode: UInt32(info.st_mode) & 0o7777, options: options, hashOnly: hashOnly, progress: progress)
            pending.append(app)
            layers.append(app.descriptor)
            diffIDs.append(app.descriptor.digest)

            if let cmd = options.cmd {
                image.cmd = cmd
                image.entrypoint = nil
            }
            if let workingDir = options.workingDir { image.workingDir = workingDir }
            image.env = ImageConfig.merge(env: image.env, with: options.env)
            if !options.ports.isEmpty { image.exposedPorts = Array(Set(image.exposedPorts + options.ports)).sorted() }
            if let healthPath = options.healthPath { image.healthPath = healthPath }

            let blobs = try ImageBlobs(image, diffIDs: diffIDs, layers: layers, annotations: annotations)
            // Refuse a rebinding before any blob becomes visible; `bind` checks again under the lock.
            try index.checkBindable(fullName, to: blobs.manifestDescriptor.digest)
            if !binds.isEmpty { try hostBinds.grant(binds, to: blobs.manifestDescriptor.digest) }
            if let bound, bound.digest == blobs.manifestDescriptor.digest {
                return PublishResult(name: fullName, digest: bound.digest.description, bytesAdded: 0, layerSize: app.descriptor.size)
            }
            var added: Int64 = 0
            for layer in pending { added += try layer.commit() }
            added += try blobs.commit(layout)
            try index.bind(fullName, to: blobs.manifestDescriptor)
            return PublishResult(
                name: fullName, digest: blobs.manifestDescriptor.digest.description, bytesAdded: added,
                layerSize: app.descriptor.size
            )
        }
    }

    private func buildLayer(
        _ directory: String, mode: UInt32, options: PublishOptions, hashOnly: Bool, progress: ((Int64) -> Void)?
    ) throws -> PendingLayer {
        let stream = try LayerStream(layout, hashOnly: hashOnly, progress: progress)
        var prefix = ""
        let dest = options.destComponents
        for (position, component) in dest.enumerated() {
            prefix = prefix.isEmpty ? component : prefix + "/" + component
            try stream.addDirectory(prefix, permissions: position == dest.count - 1 ? mode : 0o755)
        }
        try stream.addTree(directory, prefix: prefix)
        return try stream.finish()
    }

}
