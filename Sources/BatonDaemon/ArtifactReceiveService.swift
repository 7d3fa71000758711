import BatonControl
import BatonOS
import BatonStore
import Foundation

/// The daemon's side of `baton artifact push REF ssh://HOST`, on its root's store: which blobs
/// are missing, and binding a name once they are all there. The blobs themselves arrive
/// through `BlobUpload`, streamed to the store's ingest area. Store work is blocking file I/O,
/// so each call runs on a thread of its own, off Swift's small shared pool.
struct ArtifactReceiveService: Sendable {
    let root: String

    func plan(_ request: PushPlanRequest) async throws -> PushPlan {
        try await DetachedThread.run {
            let store = try ArtifactStore(root: root)
            let bound = try store.isBound(request.name, to: request.digest)
            return PushPlan(bound: bound, missing: bound ? [] : try store.missingBlobs(request.blobs))
        }
    }

    func bind(_ request: PushBindRequest) async throws -> ArtifactRef {
        try await DetachedThread.run {
            let result = try ArtifactStore(root: root).bindReceived(
                name: request.name, manifestDigest: request.digest, manifestSize: request.size, mediaType: request.mediaType)
            return ArtifactRef(ref: result.name, digest: result.digest)
        }
    }

    func resolve(_ request: ArtifactRef) async throws -> ArtifactRef {
        try await DetachedThread.run {
            ArtifactRef(ref: request.ref, digest: try ArtifactStore(root: root).resolve(request.ref).digest)
        }
    }
}
