import BatonOS
import FoundationEssentials

extension ControlClient {
    /// Creates the preview `name` serving `ref` (or swaps it to `ref`); the deployment says
    /// whether it became healthy.
    public func createPreview(name: String, ref: String, ttl: Double?, smoke: [String]? = nil) throws -> PreviewCreation {
        try decode(PreviewCreation.self, try call("POST", "/v1/previews",
                                                       body: try ControlJSON.encoder().encode(PreviewRequest(name: name, ref: ref, ttl: ttl, smoke: smoke)),
                                                       replySeconds: Self.swapReplySeconds))
    }

    public func previews() throws -> [PreviewInfo] {
        try decode([PreviewInfo].self, try call("GET", "/v1/previews"))
    }

    /// Stops the preview's sandboxes and removes it.
    public func removePreview(named name: String) throws {
        _ = try call("DELETE", "/v1/previews/" + Self.escape(name))
    }
}
