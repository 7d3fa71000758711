import AsyncHTTPClient
import BatonOS
import BatonStore
import Glibc
import NIOCore
import NIOHTTP1

/// What a push did.
public struct PushResult: Sendable {
    /// The manifest digest: the artifact's own, since the manifest is sent byte for byte.
    public var digest: String
    public var destination: String
    public var blobsSent: Int
    public var bytesSent: Int64
    public var blobsPresent: Int
    public var blobsMounted: Int
}

/// `baton artifact push REF REGISTRY/REPO[:TAG]`: each blob is asked for first (HEAD) and sent
/// only when missing, mounted from another repository of the same registry where Baton knows
/// one holds it, else uploaded in chunks; then the stored manifest is PUT unchanged.
public struct RegistryPush: Sendable {
    public var root: String
    public var artifact: String
    public var destination: RegistryReference
    public var insecure = false
    public var chunkSize = 16 << 20
    public var progress: ProgressSink?

    public init(root: String, artifact: String, destination: RegistryReference) {
        self.root = root
        self.artifact = artifact
        self.destination = destination
    }

    public func run() async throws -> PushResult {
        guard destination.digest == nil else {
            throw BatonError(.invalidArgument,
                "push to REGISTRY/REPO[:TAG], not to a digest: the digest is the artifact's own (\(destination))")
        }
        guard chunkSize >= 1024 else { throw BatonError(.invalidArgument, "the chunk size must be at least 1024 bytes") }
        let store = try ArtifactStore(root: root)
        let resolved = try store.resolve(artifact)
        let manifestBytes = try store.manifestBytes(of: resolved)
        let (document, mediaType) = try ImageDocument.parse(
            manifestBytes, served: resolved.manifestDescriptor.mediaType, what: "manifest of \(artifact)")
        guard case .manifest(let config, let layers) = document else {
            throw BatonError(.corrupt, "\(artifact) is not an image manifest")
        }
        let session = try RegistryConnection.session(for: destination.registry, root: root, insecure: insecure)
        do {
            let result = try await push(store, session, manifestBytes: manifestBytes, mediaType: mediaType, blobs: [config] + layers)
            await session.shutdown()
            return result
        } catch {
            await session.shutdown()
            throw error
        }
    }

    private var repository: String { destination.repository }

    private func push(
        _ store: ArtifactStore, _ session: RegistrySession, manifestBytes: [UInt8], mediaType: String, blobs: [Descriptor]
    ) async throws -> PushResult {
        let scope = ["repository:\(repository):pull,push"]
        let sources = BlobSources(root: root)
        let known = sources.read()
        let meter = TransferProgress(label: "pushing \(artifact) to \(destination)", sink: progress)
        var sent = 0
        var present = 0
        var mounted = 0
        var seen: Set<Digest> = []
        for blob in blobs where seen.insert(blob.digest).inserted {
            if try await exists(blob, session, scope: scope) {
                present += 1
                continue
            }
            let path = store.blobPath(blob.digest)
            guard access(path, F_OK) == 0 else {
                throw BatonError(.corrupt, "blob \(blob.digest) of \(artifact) is missing from the store")
            }
            var location: String?
            var wasMounted = false
            for from in sources.repositories(holding: blob.digest, on: destination.registry, except: repository, in: known) {
                let mountScope = scope + ["repository:\(from):pull"]
                let response = try await session.send(
                    .POST, await session.url(repository, "blobs/uploads/?mount=\(blob.digest)&from=\(from)"), scope: mountScope, seconds: 120)
                if response.status == .created {
                    await RegistrySession.drain(response)
                    wasMounted = true
                    break
                }
                guard response.status == .accepted, let next = response.headers.first(name: "Location") else {
                    await RegistrySession.drain(response)
                    continue
                }
                await RegistrySession.drain(response)
                location = try await session.resolve(next, against: await session.url(repository, "blobs/uploads/"))
                break
            }
            if wasMounted {
                mounted += 1
                continue
            }
            let start = try await startUpload(location, session, scope: scope)
            let upload = BlobUpload(
                session: session, repository: repository, scope: scope, blob: blob, path: path, chunkSize: chunkSize, meter: meter)
            try await upload.send(to: start)
            sent += 1
        }
        meter.finish()
        let manifestDigest = Digest.of(manifestBytes)
        try await putManifest(manifestBytes, mediaType: mediaType, digest: manifestDigest, session, scope: scope)
        sources.record(blobs.map(\.digest), host: destination.registry, repository: repository)
        return PushResult(
            digest: manifestDigest.description, destination: destination.pinned(to: manifestDigest),
            blobsSent: sent, bytesSent: meter.bytes, blobsPresent: present, blobsMounted: mounted)
    }

    private func exists(_ blob: Descriptor, _ session: RegistrySession, scope: [String]) async throws -> Bool {
        let response = try await session.send(.HEAD, await session.url(repository, "blobs/\(blob.digest)"), scope: scope, seconds: 60)
        await RegistrySession.drain(response)
        switch response.status {
        case .ok:
            return true
        case .notFound:
            return false
        default:
            throw BatonError(.unavailable, "HEAD of blob \(blob.digest) on \(destination.registry): registry answered \(response.status.code)")
        }
    }

    private func startUpload(_ location: String?, _ session: RegistrySession, scope: [String]) async throws -> String {
        if let location { return location }
        let url = await session.url(repository, "blobs/uploads/")
        let response = try await session.send(.POST, url, scope: scope, seconds: 120)
        guard response.status == .accepted, let next = response.headers.first(name: "Location") else {
            throw await RegistrySession.failure(response, "starting an upload to \(destination.registry)/\(repository)")
        }
        await RegistrySession.drain(response)
        return try await session.resolve(next, against: url)
    }

    private func putManifest(
        _ bytes: [UInt8], mediaType: String, digest: Digest, _ session: RegistrySession, scope: [String]
    ) async throws {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: mediaType)
        let target = destination.tag ?? digest.description
        let response = try await session.send(
            .PUT, await session.url(repository, "manifests/\(target)"), headers: headers,
            body: .bytes(ByteBuffer(bytes: bytes)), scope: scope, seconds: 120)
        guard response.status == .created else {
            throw await RegistrySession.failure(response, "manifest \(digest) to \(destination)")
        }
        await RegistrySession.drain(response)
        if let claimed = response.headers.first(name: "Docker-Content-Digest"), let parsed = Digest(claimed), parsed != digest {
            throw BatonError(.corrupt, "registry \(destination.registry) stored the manifest as \(parsed), not \(digest)")
        }
    }
}

