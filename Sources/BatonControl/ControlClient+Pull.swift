import BatonOS
import FoundationEssentials

/// `POST /v1/artifacts/pull`: the daemon pulls a registry image into its own store, with its
/// host's credentials (`baton --host ssh://… artifact pull`).
public struct PullRequest: Codable, Sendable {
    public var image: String
    public var localName: String?
    public var platform: String?
    public var insecure: Bool

    public init(image: String, localName: String?, platform: String?, insecure: Bool) {
        self.image = image
        self.localName = localName
        self.platform = platform
        self.insecure = insecure
    }

    enum CodingKeys: String, CodingKey {
        case image, platform, insecure
        case localName = "as"
    }
}

/// What a pull brought: the name bound, the digest, and how much came over the network.
public struct PullReply: Codable, Sendable {
    public var name: String
    public var digest: String
    public var source: String
    public var blobsDownloaded: Int
    public var bytesDownloaded: Int64
    public var blobsPresent: Int

    public init(name: String, digest: String, source: String, blobsDownloaded: Int, bytesDownloaded: Int64, blobsPresent: Int) {
        self.name = name
        self.digest = digest
        self.source = source
        self.blobsDownloaded = blobsDownloaded
        self.bytesDownloaded = bytesDownloaded
        self.blobsPresent = blobsPresent
    }
}

extension ControlClient {
    /// Has the daemon pull `request.image` into its store; a pull waits on the registry.
    public func pull(_ request: PullRequest) throws -> PullReply {
        try decode(PullReply.self, try call("POST", "/v1/artifacts/pull", body: try ControlJSON.encoder().encode(request),
                                            replySeconds: Self.swapReplySeconds))
    }
}
