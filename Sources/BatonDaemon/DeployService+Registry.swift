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
}
