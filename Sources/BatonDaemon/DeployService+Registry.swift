import BatonControl
import BatonOS
import BatonRegistry
import BatonStore

extension DeployService {
    /// `baton deploy APP REGISTRY/REPO@sha256:…` (or `:TAG`): the daemon pulls what its store
    /// lacks (with the root's credentials), binding `REPO:sha256-<12 hex>` so a moved tag never
    /// conflicts with an earlier pull, then swaps to the pulled digest as any deploy does.
    func deploy(app name: String, image: String, insecure: Bool, bake: BakeSettings? = nil, verify: VerifyOptions? = nil) async throws -> DeploymentInfo {
        _ = try sandboxApp(name)
        if let verify { try checkVerify(verify, app: try sandboxApp(name)) }
        let pulled = try await pull(image: image, insecure: insecure) { $0.nameByDigest = true }
        return try await deploy(app: name, ref: pulled.digest, bake: bake, verify: verify)
    }

    /// `baton --host ssh://… artifact pull`: the pull `baton artifact pull` makes on its own
    /// host, made by the daemon into its store.
    func pull(_ request: PullRequest) async throws -> PullReply {
        let pulled = try await pull(image: request.image, insecure: request.insecure) { pull in
            pull.localName = request.localName
            if let platform = request.platform { pull.platform = try RegistryPull.platform(parsing: platform) }
        }
        return PullReply(name: pulled.name, digest: pulled.digest, source: pulled.source, blobsDownloaded: pulled.blobsDownloaded,
                         bytesDownloaded: pulled.bytesDownloaded, blobsPresent: pulled.blobsPresent)
    }

    /// One pull into the daemon's store, `adjust`ed, logged.
    private func pull(image: String, insecure: Bool, _ adjust: (inout RegistryPull) throws -> Void) async throws -> PullResult {
        var pull = RegistryPull(root: root, reference: try RegistryReference(parsing: image))
        pull.insecure = insecure
        try adjust(&pull)
        let pulled = try await pull.run()
        logger.info("pulled \(pulled.source) as \(pulled.name): \(pulled.blobsDownloaded) blobs, \(pulled.bytesDownloaded) bytes")
        return pulled
    }
}
