import FoundationEssentials

/// `GET /v1/sandboxes/ID/log[?offset=N]`: a piece of a sandbox's output, for `baton logs` on a
/// remote host. Without an offset, the whole log (the rotated file, then the current one);
/// with one, the current file from there (from 0 when it has been rotated since).
public struct LogChunk: Codable, Sendable {
    public var data: Data
    /// Where to ask from next time, in the current file.
    public var next: Int64
    /// More is there already: ask again at once.
    public var more: Bool

    public init(data: Data, next: Int64, more: Bool) {
        self.data = data
        self.next = next
        self.more = more
    }
}

extension ControlClient {
    public func log(sandbox id: String, offset: Int64?) throws -> LogChunk {
        try decode(LogChunk.self, try call("GET", "/v1/sandboxes/\(Self.escape(id))/log" + (offset.map { "?offset=\($0)" } ?? "")))
    }
}
