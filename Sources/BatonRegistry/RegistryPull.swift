import AsyncHTTPClient
import BatonOS
import BatonStore
import NIOCore
import NIOHTTP1

/// What a pull did.
public struct PullResult: Sendable {
    /// The local `NAME:VERSION` bound.
    public var name: String
    /// The artifact's (image manifest's) digest: what `baton deploy` and `run` take.
    public var digest: String
    /// What the reference resolved to in the registry (an image index's digest when it served one).
    public var resolvedDigest: String
    /// `registry/repo[:tag]@digest`, kept on the store's index entry.
    public var source: String
    public var bytesDownloaded: Int64
    public var blobsDownloaded: Int
    public var blobsPresent: Int
}

/// `baton artifact pull`: manifest by tag or digest (an image index narrowed to one platform),
/// then every blob the store lacks, each verified by digest and size before the artifact is
/// committed and named.
public struct RegistryPull: Sendable {
    public var root: String
    public var reference: RegistryReference
    /// `--as NAME:VERSION`; nil binds the default name (RegistryReference.defaultLocalName).
    public var localName: String?
    public var platform: (os: String, architecture: String) = ("linux", RegistryPull.hostArchitecture)
    public var insecure = false
    /// Bind `REPO:sha256-<12 hex>` even for a pull by tag (a deploy's pull: a tag moves, and a
    /// name bound to its first digest would refuse the next one).
    public var nameByDigest = false
    public var progress: ProgressSink?

    public init(root: String, reference: RegistryReference) {
        self.root = root
        self.reference = reference
    }

    /// `--platform OS/ARCH` as the pair an image index is narrowed by.
    public static func platform(parsing text: String) throws -> (os: String, architecture: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw BatonError(.invalidArgument, "invalid --platform '\(text)': use OS/ARCH, e.g. linux/amd64")
        }
        return (parts[0], parts[1])
    }

    static var hostArchitecture: String {
        #if arch(arm64)
            "arm64"
        #else
            "amd64"
        #endif
    }

    public func run() async throws -> PullResult {
        let store = try ArtifactStore(root: root)
        if let localName { _ = try Reference.parseTag(localName) }
        let session = try RegistryConnection.session(for: reference.registry, root: root, insecure: insecure)
        do {
            let result = try await pull(store, session)
            await session.shutdown()
            return result
        } catch {
            await session.shutdown()
            throw error
        }
    }

    private var scope: [String] { ["repository:\(reference.repository):pull"] }

    private func pull(_ store: ArtifactStore, _ session: RegistrySession) async throws -> PullResult {
        let (resolvedBytes, resolvedType) = try await fetchManifest(session, reference.manifestReference, expected: reference.digest)
        let resolvedDigest = Digest.of(resolvedBytes)
        var manifestBytes = resolvedBytes
        var manifestType = resolvedType
        var document = try ImageDocument.parse(resolvedBytes, served: resolvedType, what: "manifest of \(reference)")
        if case .index(let entries) = document.0 {
            let chosen = try choosePlatform(entries)
            (manifestBytes, manifestType) = try await fetchManifest(session, chosen.digest.description, expected: chosen.digest)
            guard Int64(manifestBytes.count) == chosen.size else {
                throw BatonError(.corrupt, "manifest \(chosen.digest) is \(manifestBytes.count) bytes, the index says \(chosen.size)")
            }
            document = try ImageDocument.parse(manifestBytes, served: manifestType, what: "manifest \(chosen.digest) of \(reference)")
        }
        guard case .manifest(let config, let layers) = document.0 else {
            throw BatonError(.corrupt, "\(reference): an image index names another index; only one level is supported")
        }
        let manifest = Descriptor(mediaType: document.mediaType, digest: Digest.of(manifestBytes), size: Int64(manifestBytes.count))
        let name = localName ?? (nameByDigest
            ? reference.repository + ":sha256-" + String(manifest.digest.hex.prefix(12))
            : reference.defaultLocalName(resolved: manifest.digest))
        let incoming = try IncomingArtifact(store)
        do {
            try incoming.checkBindable(name, to: manifest.digest)
        } catch let error as BatonError where error.code == .conflict && localName == nil {
            throw BatonError(.conflict,
                "\(error.message); \(reference) now resolves to \(manifest.digest) (a registry tag can move, a Baton name cannot): pull with --as NAME:VERSION")
        }
        guard config.size <= Int64(RegistryLimits.configBytes) else {
            throw BatonError(.corrupt, "image config \(config.digest) is \(config.size) bytes, more than the \(RegistryLimits.configBytes) allowed")
        }
        try incoming.add(manifestBytes, as: manifest, what: "manifest")
        let meter = TransferProgress(label: "pulling \(reference)", sink: progress)
        var downloaded = 0
        var present = 0
        for (blob, what) in [(config, "image config")] + layers.map({ ($0, "layer") }) {
            if incoming.has(blob) {
                present += 1
                continue
            }
            try await download(blob, what: what, session, into: incoming, meter: meter)
            downloaded += 1
        }
        meter.finish()
        let source = reference.pinned(to: resolvedDigest)
        let result = try incoming.commit(manifest: manifest, name: name, annotations: [AnnotationKey.source: source])
        BlobSources(root: root).record([config.digest] + layers.map(\.digest), host: reference.registry, repository: reference.repository)
        return PullResult(
            name: result.name, digest: manifest.digest.description, resolvedDigest: resolvedDigest.description,
            source: source, bytesDownloaded: meter.bytes, blobsDownloaded: downloaded, blobsPresent: present)
    }

    /// GET a manifest (OCI or Docker, image or index), at most RegistryLimits.manifestBytes.
    private func fetchManifest(_ session: RegistrySession, _ ref: String, expected: Digest?) async throws -> ([UInt8], String?) {
        var headers = HTTPHeaders()
        headers.add(name: "Accept", value: ImageDocument.acceptedMediaTypes.joined(separator: ", "))
        let response = try await session.get(
            await session.url(reference.repository, "manifests/\(ref)"), headers: headers, scope: scope, seconds: 120)
        guard response.status == .ok else {
            throw await RegistrySession.failure(response, "manifest \(reference.repository):\(ref) on \(reference.registry)")
        }
        let bytes = try await RegistrySession.collect(response, limit: RegistryLimits.manifestBytes, what: "manifest \(reference.repository):\(ref)")
        let digest = Digest.of(bytes)
        if let expected, digest != expected {
            throw BatonError(.corrupt, "manifest \(reference.repository)@\(expected) from \(reference.registry) hashes to \(digest): refused")
        }
        if let served = response.headers.first(name: "Docker-Content-Digest"), let claimed = Digest(served), claimed != digest {
            throw BatonError(.corrupt, "manifest \(reference.repository):\(ref) from \(reference.registry) hashes to \(digest), the registry says \(claimed): refused")
        }
        return (bytes, response.headers.first(name: "Content-Type"))
    }

    private func choosePlatform(_ entries: [Descriptor]) throws -> Descriptor {
        let matching = entries.filter {
            MediaType.isManifest($0.mediaType) && $0.platform?.os == platform.os && $0.platform?.architecture == platform.architecture
        }
        guard let chosen = matching.first else {
            let offered = entries.compactMap { $0.platform.map { "\($0.os)/\($0.architecture)" } }
            throw BatonError(.notFound,
                "\(reference) has no image for \(platform.os)/\(platform.architecture) (it offers \(offered.isEmpty ? "none" : offered.joined(separator: ", "))); choose one with --platform OS/ARCH")
        }
        return chosen
    }

    /// Streams one blob into the store's ingest area while hashing; `finish` refuses a digest
    /// or size other than the descriptor's.
    private func download(
        _ blob: Descriptor, what: String, _ session: RegistrySession, into incoming: IncomingArtifact, meter: TransferProgress
    ) async throws {
        let response = try await session.get(
            await session.url(reference.repository, "blobs/\(blob.digest)"), scope: scope, seconds: 24 * 3600)
        guard response.status == .ok else {
            throw await RegistrySession.failure(response, "\(what) \(blob.digest) of \(reference)")
        }
        let receiving = try incoming.receive(blob, what: what)
        do {
            for try await buffer in response.body {
                try buffer.withUnsafeReadableBytes { try receiving.write($0) }
                meter.add(buffer.readableBytes)
            }
        } catch let error as BatonError {
            throw error
        } catch {
            throw BatonError(.unavailable, "\(what) \(blob.digest) from \(reference.registry) was cut off: \(Untrusted.describe(error))")
        }
        try receiving.finish()
    }
}

/// Opens a session to a registry with the credentials Baton knows for it.
enum RegistryConnection {
    static func session(for host: String, root: String, insecure: Bool) throws -> RegistrySession {
        let credential = try RegistryCredentials(root: root).lookup(host)
        return RegistrySession(host: host, insecure: insecure, credential: credential,
                               authority: RegistryTrust.authorityFile(root: root, host: host))
    }
}
