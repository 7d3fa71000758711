import BatonOS
import FoundationEssentials

/// `POST /v1/push/plan`: the artifact a client is about to push, and every blob it reaches.
public struct PushPlanRequest: Codable, Sendable {
    public var name: String
    public var digest: String
    public var blobs: [String]
    public init(name: String, digest: String, blobs: [String]) {
        self.name = name
        self.digest = digest
        self.blobs = blobs
    }
}

/// The daemon's answer: the blobs its store lacks; `bound` when the name is bound to that
/// digest already (nothing to send). A name bound to another digest is refused (409).
public struct PushPlan: Codable, Sendable {
    public var bound: Bool
    public var missing: [String]
    public init(bound: Bool, missing: [String]) {
        self.bound = bound
        self.missing = missing
    }
}

/// `PUT /v1/blobs/DIGEST`'s answer, once the blob is verified and in the store.
public struct BlobReceipt: Codable, Sendable {
    public var digest: String
    public var size: Int64
    /// False when the store held the blob already.
    public var added: Bool
    public init(digest: String, size: Int64, added: Bool) {
        self.digest = digest
        self.size = size
        self.added = added
    }
}

/// `POST /v1/push/bind`: bind `name` to the manifest, whose blobs are all in the store now.
public struct PushBindRequest: Codable, Sendable {
    public var name: String
    public var digest: String
    public var size: Int64
    public var mediaType: String
    public init(name: String, digest: String, size: Int64, mediaType: String) {
        self.name = name
        self.digest = digest
        self.size = size
        self.mediaType = mediaType
    }
}

/// `POST /v1/artifacts/resolve`: a reference resolved in the daemon's store.
public struct ArtifactRef: Codable, Sendable {
    public var ref: String
    public var digest: String?
    public init(ref: String, digest: String? = nil) {
        self.ref = ref
        self.digest = digest
    }
}

extension ControlClient {
    public func pushPlan(_ request: PushPlanRequest) throws -> PushPlan {
        try decode(PushPlan.self, try call("POST", "/v1/push/plan", body: try ControlJSON.encoder().encode(request)))
    }

    /// Sends one blob of `size` bytes from `file`; the daemon verifies it against `digest`.
    public func uploadBlob(digest: String, file: Int32, size: Int64) throws -> BlobReceipt {
        try decode(BlobReceipt.self, try upload("PUT", "/v1/blobs/" + Self.escape(digest), file: file, length: size,
                                                replySeconds: Self.swapReplySeconds))
    }

    public func bindPushed(_ request: PushBindRequest) throws -> ArtifactRef {
        try decode(ArtifactRef.self, try call("POST", "/v1/push/bind", body: try ControlJSON.encoder().encode(request)))
    }

    /// The digest `ref` names in the daemon's store.
    public func resolveArtifact(_ ref: String) throws -> String {
        let resolved = try decode(ArtifactRef.self, try call("POST", "/v1/artifacts/resolve", body: try ControlJSON.encoder().encode(ArtifactRef(ref: ref))))
        guard let digest = resolved.digest else { throw BatonError(.internal, "the daemon resolved \(ref) to nothing") }
        return digest
    }
}
