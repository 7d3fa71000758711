import NIOHTTP1

/// RFC 9112 message-framing rules applied to a decoded request head before anything is
/// forwarded. The decoder (llhttp) already refuses most malformed framing; these checks close
/// the gaps so an ambiguous request is refused, never forwarded.
enum RequestFraming {
    /// Why a request is refused, or nil to forward it. `http2`: the head came from an HTTP/2
    /// stream (version 2.0, Host made from `:authority`); an HTTP/1 connection naming any other
    /// version than 1.x is refused.
    static func check(_ head: RequestHead, http2: Bool = false) -> (status: HTTPResponseStatus, reason: String)? {
        guard head.version.major == 1 || http2 else {
            return (.httpVersionNotSupported, "only HTTP/1.0 and HTTP/1.1 are served")
        }
        let headers = head.headers
        var contentLengths = 0
        var transferEncodings = 0
        var hosts = 0
        headers.forEachField { name, _ in
            switch name.count {
            case 4 where equalsLowercase(name, "host"): hosts += 1
            case 14 where equalsLowercase(name, "content-length"): contentLengths += 1
            case 17 where equalsLowercase(name, "transfer-encoding"): transferEncodings += 1
            default: break
            }
        }
        if hosts > 1 { return (.badRequest, "more than one Host header") }
        if head.version.minor >= 1 && hosts == 0 { return (.badRequest, "HTTP/1.1 request without Host") }
        if transferEncodings > 0 {
            if contentLengths > 0 { return (.badRequest, "both Content-Length and Transfer-Encoding") }
            var codings: [Substring] = []
            for value in headers["transfer-encoding"] {
                for token in value.split(separator: ",") { codings.append(trim(token)) }
            }
            if codings.contains(where: { !equalsLowercase($0, "chunked") }) {
                return (.notImplemented, "unsupported transfer coding")
            }
            if codings.count != 1 { return (.badRequest, "chunked applied more than once") }
        }
        if contentLengths > 0 {
            var seen: Substring?
            for value in headers["content-length"] {
                for token in value.split(separator: ",", omittingEmptySubsequences: false) {
                    let length = trim(token)
                    guard !length.isEmpty, length.utf8.count <= 18,
                        length.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
                    else { return (.badRequest, "invalid Content-Length") }
                    if let seen, seen != length { return (.badRequest, "conflicting Content-Length values") }
                    seen = length
                }
            }
        }
        return nil
    }

    /// The request's declared body length, when it has a valid Content-Length.
    static func contentLength(_ head: RequestHead) -> Int? {
        guard let value = head.headers.first(name: "content-length") else { return nil }
        return Int(trim(value.split(separator: ",").first ?? ""))
    }
}

/// Calls `body` with each non-empty, trimmed element of a comma-separated header value. Works
/// on UTF-8 bytes: `split` on a String walks grapheme clusters and costs thousands of
/// instructions for a value as short as "keep-alive".
func forEachListToken(_ value: String, _ body: (Substring) -> Void) {
    let utf8 = value.utf8
    var start = utf8.startIndex
    var index = start
    while true {
        if index == utf8.endIndex || utf8[index] == UInt8(ascii: ",") {
            let token = trim(value[start..<index])
            if !token.isEmpty { body(token) }
            if index == utf8.endIndex { return }
            start = utf8.index(after: index)
        }
        index = utf8.index(after: index)
    }
}

@inline(__always)
func trim(_ text: Substring) -> Substring {
    let utf8 = text.utf8
    var start = utf8.startIndex
    var end = utf8.endIndex
    while start < end, utf8[start] == UInt8(ascii: " ") || utf8[start] == UInt8(ascii: "\t") { start = utf8.index(after: start) }
    while start < end {
        let last = utf8.index(before: end)
        guard utf8[last] == UInt8(ascii: " ") || utf8[last] == UInt8(ascii: "\t") else { break }
        end = last
    }
    return text[start..<end]
}

/// ASCII case-insensitive comparison against an already lower-case literal.
@inline(__always)
func equalsLowercase<S: StringProtocol>(_ text: S, _ lower: StaticString) -> Bool { equalsLowercase(text.utf8, lower) }

/// ASCII case-insensitive comparison of bytes against an already lower-case literal.
@inline(__always)
func equalsLowercase<C: Collection>(_ bytes: C, _ lower: StaticString) -> Bool where C.Element == UInt8 {
    guard bytes.count == lower.utf8CodeUnitCount else { return false }
    var pointer = lower.utf8Start
    for byte in bytes {
        let folded = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
        if folded != pointer.pointee { return false }
        pointer += 1
    }
    return true
}
