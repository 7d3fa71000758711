import BatonControl
import BatonOS
import BatonRegistry
import BatonStore

extension DeployService {
    /// `baton deploy APP REGISTRY/REPO@sha256:…` (or `:TAG`): the daemon pulls what its store
    /// lacks (with the root's credentials), binding `REPO:sha256-<12 hex>` so a moved tag never
    /// conflicts with an earlier pull, then swaps to the pulled digest as any deploy does.
    func deploy(app name: String, image: String, insecure: Bool) async throws -> DeploymentInfo {
        _ = try sandboxApp(name)
        var pull = RegistryPull(root: root, reference: try RegistryReference(parsing: image))
        pull.insecure = insecure
        pull.nameByDigest = true
        let pulled = try await pull.run()
        logger.info("pulled \(pulled.source) as \(pulled.name) for a deploy of \(name): \(pulled.blobsDownloaded) blobs, \(pulled.bytesDownloaded) bytes")
        return try await deploy(app: name, ref: pulled.digest)
    }

    /// `baton --host ssh://… artifact pull`: the pull `baton artifact pull` makes on its own
    /// host, made by the daemon into its store.
    func pull(_ request: PullRequest) async throws -> PullReply {
        var pull = RegistryPull(root: root, reference: try RegistryReference(parsing: request.image))
        pull.localName = request.localName
        pull.insecure = request.insecure
        if let platform = request.platform {
            let parts = platform.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw BatonError(.invalidArgument, "invalid --platform '\(platform)': use OS/ARCH, e.g. linux/amd64")
            }
            pull.platform = (parts[0], parts[1])
        }
        let pulled = try await pull.run()
        logger.info("pulled \(pulled.source) as \(pulled.name): \(pulled.blobsDownloaded) blobs, \(pulled.bytesDownloaded) bytes")
        return PullReply(name: pulled.name, digest: pulled.digest, source: pulled.source, blobsDownloaded: pulled.blobsDownloaded,
                         bytesDownloaded: pulled.bytesDownloaded, blobsPresent: pulled.blobsPresent)
    }
}
