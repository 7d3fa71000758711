import NIOCore
import NIOHTTP1

/// The proxy's own small responses (404, 502, 503, 504, 4xx for bad requests): plain text that
/// names the problem and carries the request id.
enum ErrorResponse {
    /// `allow` is the Allow field of a 405, `location` the Location of a redirect.
    static func head(
        _ status: HTTPResponseStatus, bodyLength: Int, requestID: String, close: Bool, allow: String? = nil,
        location: String? = nil
    ) -> ResponseHead {
        var headers = HeaderFields()
        headers.reserveCapacity(7)
        headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        headers.add(name: "content-length", value: String(bodyLength))
        headers.add(name: "x-request-id", value: requestID)
        headers.add(name: "server", value: "baton")
        if let allow { headers.add(name: "allow", value: allow) }
        if let location { headers.add(name: "location", value: location) }
        // A 503 is the proxy saying "no ready target now" (a sandbox being restarted, a hold
        // that outlasted its timeout): worth a retry soon, which well-behaved clients wait for.
        if status == .serviceUnavailable { headers.add(name: "retry-after", value: "1") }
        if close { headers.add(name: "connection", value: "close") }
        return ResponseHead(version: .http1_1, status: status, headers: headers)
    }

    static func body(_ status: HTTPResponseStatus, detail: String, requestID: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        var text = String(status.code) + " " + status.reasonPhrase
        if !detail.isEmpty { text += ": " + detail }
        text += "\nrequest id: " + requestID + "\n"
        return allocator.buffer(string: text)
    }
}
