import NIOHTTP1

/// Header rewriting between client and upstream: hop-by-hop headers are removed (RFC 9110
/// §7.6.1), X-Forwarded-* and X-Request-Id are set, Host is kept. Trailers pass both ways,
/// less the fields a trailer must not carry.
enum ForwardedHeaders {
    /// The request head sent upstream. Transfer-Encoding stays (it was validated to be exactly
    /// `chunked`) so the encoder frames the body the way the client did.
    static func upstreamRequest(
        _ head: HTTPRequestHead, clientIP: String, proto: String, requestID: String, upgrade: Bool
    ) -> HTTPRequestHead {
        // One pass finds what is there, so the common request (none of these headers) is only
        // appended to, never searched again.
        var hasHopByHop = false
        var priorForwardedFor: [String] = []
        var replaced = false
        var host: String?
        for (name, value) in head.headers {
            switch name.utf8.count {
            case 4 where host == nil && equalsLowercase(name, "host"): host = value
            case 12 where equalsLowercase(name, "x-request-id"): replaced = true
            case 15 where equalsLowercase(name, "x-forwarded-for"): priorForwardedFor.append(value)
            case 16 where equalsLowercase(name, "x-forwarded-host"): replaced = true
            case 17 where equalsLowercase(name, "x-forwarded-proto"): replaced = true
            default: if isHopByHop(name) { hasHopByHop = true }
            }
        }
        var out = head
        if out.version != .http1_1 { out.version = .http1_1 }
        if hasHopByHop { removeHopByHop(&out.headers, keepUpgrade: upgrade) }
        if !priorForwardedFor.isEmpty { out.headers.remove(name: "x-forwarded-for") }
        if replaced {
            out.headers.remove(name: "x-forwarded-proto")
            out.headers.remove(name: "x-forwarded-host")
            out.headers.remove(name: "x-request-id")
        }
        out.headers.reserveCapacity(out.headers.count + 5)
        if upgrade {
            out.headers.add(name: "connection", value: "upgrade")
        }
        if priorForwardedFor.isEmpty {
            out.headers.add(name: "x-forwarded-for", value: clientIP)
        } else {
            out.headers.add(name: "x-forwarded-for", value: priorForwardedFor.joined(separator: ", ") + ", " + clientIP)
        }
        out.headers.add(name: "x-forwarded-proto", value: proto)
        if let host {
            out.headers.add(name: "x-forwarded-host", value: host)
        }
        out.headers.add(name: "x-request-id", value: requestID)
        return out
    }

    /// The response head sent to the client, framed for the client's HTTP version.
    static func clientResponse(
        _ head: HTTPResponseHead, clientVersion: HTTPVersion, keepAlive: Bool, upgrade: Bool
    ) -> (head: HTTPResponseHead, closeDelimited: Bool) {
        var out = head
        removeHopByHop(&out.headers, keepUpgrade: upgrade)
        var closeDelimited = false
        if clientVersion.minor == 0 {
            out.version = .http1_0
            if out.headers.contains(name: "transfer-encoding") {
                // An HTTP/1.0 client cannot read chunks: send the body raw and close after it.
                out.headers.remove(name: "transfer-encoding")
                closeDelimited = true
            } else if !out.headers.contains(name: "content-length") && head.status.mayHaveBody {
                closeDelimited = true
            }
            if keepAlive && !closeDelimited { out.headers.add(name: "connection", value: "keep-alive") }
            // An HTTP/1.0 client gets no chunks, so no trailer section either.
            out.headers.remove(name: "trailer")
        } else if out.version != .http1_1 {
            out.version = .http1_1
        }
        if upgrade {
            out.headers.add(name: "connection", value: "upgrade")
        } else if !keepAlive || closeDelimited {
            out.headers.add(name: "connection", value: "close")
        }
        return (out, closeDelimited)
    }

    /// A trailer section to forward: without hop-by-hop fields and without those a trailer may
    /// not set (framing, routing, the Trailer list itself; RFC 9110 §6.5.1). Nil when nothing
    /// is left. (The encoder writes trailers only on a chunked message.)
    static func trailers(_ trailers: HTTPHeaders?) -> HTTPHeaders? {
        guard let trailers, !trailers.isEmpty else { return nil }
        var kept = trailers
        removeHopByHop(&kept, keepUpgrade: false)
        for name in ["trailer", "content-length", "transfer-encoding", "host", "upgrade"] { kept.remove(name: name) }
        return kept.isEmpty ? nil : kept
    }

    /// Drops hop-by-hop headers and those the Connection header names, keeping the order of
    /// the rest. The usual case, `Connection: keep-alive` or `close` and nothing else to drop,
    /// removes in place; only other listed names cost a rebuild.
    private static func removeHopByHop(_ headers: inout HTTPHeaders, keepUpgrade: Bool) {
        var present: [String] = []
        var listed: [Substring] = []
        for (name, value) in headers where isHopByHop(name) {
            if !(keepUpgrade && equalsLowercase(name, "upgrade")) { present.append(name) }
            if equalsLowercase(name, "connection") {
                forEachListToken(value) { token in
                    // Options (close, keep-alive) and hop-by-hop names are dropped anyway.
                    if !isFraming(token) && !isHopByHop(token) && !equalsLowercase(token, "close") { listed.append(token) }
                }
            }
        }
        guard !present.isEmpty else { return }
        guard !listed.isEmpty else {
            for name in present { headers.remove(name: name) }
            return
        }
        var kept: [(String, String)] = []
        kept.reserveCapacity(headers.count)
        for (name, value) in headers {
            if isHopByHop(name) && !(keepUpgrade && equalsLowercase(name, "upgrade")) { continue }
            if listed.contains(where: { equalsIgnoringCase($0, name) }) { continue }
            kept.append((name, value))
        }
        headers = HTTPHeaders(kept)
    }

    @inline(__always)
    private static func isHopByHop<S: StringProtocol>(_ name: S) -> Bool {
        switch name.utf8.count {
        case 2: return equalsLowercase(name, "te")
        // Not Trailer: RFC 9110 §6.6.2 makes it end-to-end (RFC 2616's list named "Trailers").
        case 7: return equalsLowercase(name, "upgrade")
        case 10: return equalsLowercase(name, "connection") || equalsLowercase(name, "keep-alive")
        case 16: return equalsLowercase(name, "proxy-connection")
        default: return false
        }
    }

    /// Headers a Connection token must never remove: they carry framing or routing.
    private static func isFraming(_ token: Substring) -> Bool {
        equalsLowercase(token, "content-length") || equalsLowercase(token, "transfer-encoding")
            || equalsLowercase(token, "host")
    }
}

/// ASCII case-insensitive equality of two header names or tokens.
func equalsIgnoringCase<A: StringProtocol, B: StringProtocol>(_ a: A, _ b: B) -> Bool {
    guard a.utf8.count == b.utf8.count else { return false }
    for (x, y) in zip(a.utf8, b.utf8) where x != y {
        let foldedX = x >= UInt8(ascii: "A") && x <= UInt8(ascii: "Z") ? x | 0x20 : x
        let foldedY = y >= UInt8(ascii: "A") && y <= UInt8(ascii: "Z") ? y | 0x20 : y
        if foldedX != foldedY { return false }
    }
    return true
}

extension HTTPResponseStatus {
    var mayHaveBody: Bool {
        let code = self.code
        return !(code < 200 || code == 204 || code == 304)
    }
}
