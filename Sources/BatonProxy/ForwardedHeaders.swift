import NIOHTTP1

/// Header rewriting between client and upstream: hop-by-hop headers are removed (RFC 9110
/// §7.6.1), X-Forwarded-* and X-Request-Id are set, Host is kept.
enum ForwardedHeaders {
    /// The request head sent upstream. Transfer-Encoding stays (it was validated to be exactly
    /// `chunked`) so the encoder frames the body the way the client did.
    static func upstreamRequest(
        _ head: HTTPRequestHead, clientIP: String, proto: String, requestID: String, upgrade: Bool
    ) -> HTTPRequestHead {
        var out = head
        out.version = .http1_1
        removeHopByHop(&out.headers, keepUpgrade: upgrade)
        if upgrade {
            out.headers.add(name: "connection", value: "upgrade")
        }
        let prior = out.headers["x-forwarded-for"]
        if prior.isEmpty {
            out.headers.add(name: "x-forwarded-for", value: clientIP)
        } else {
            out.headers.replaceOrAdd(name: "x-forwarded-for", value: prior.joined(separator: ", ") + ", " + clientIP)
        }
        out.headers.replaceOrAdd(name: "x-forwarded-proto", value: proto)
        if let host = head.headers.first(name: "host") {
            out.headers.replaceOrAdd(name: "x-forwarded-host", value: host)
        }
        out.headers.replaceOrAdd(name: "x-request-id", value: requestID)
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
        } else {
            out.version = .http1_1
        }
        if upgrade {
            out.headers.add(name: "connection", value: "upgrade")
        } else if !keepAlive || closeDelimited {
            out.headers.add(name: "connection", value: "close")
        }
        return (out, closeDelimited)
    }

    private static func removeHopByHop(_ headers: inout HTTPHeaders, keepUpgrade: Bool) {
        var hasHopByHop = false
        var listed: [Substring] = []
        for (name, value) in headers where isHopByHop(name) {
            hasHopByHop = true
            if equalsLowercase(name, "connection") {
                for token in value.split(separator: ",") { listed.append(trim(token)) }
            }
        }
        guard hasHopByHop else { return }
        headers.remove(name: "connection")
        headers.remove(name: "keep-alive")
        headers.remove(name: "proxy-connection")
        headers.remove(name: "te")
        headers.remove(name: "trailer")
        if !keepUpgrade { headers.remove(name: "upgrade") }
        for token in listed where !isFraming(token) && !(keepUpgrade && equalsLowercase(token, "upgrade")) {
            headers.remove(name: String(token))
        }
    }

    @inline(__always)
    private static func isHopByHop(_ name: String) -> Bool {
        switch name.utf8.count {
        case 2: return equalsLowercase(name, "te")
        case 7: return equalsLowercase(name, "upgrade") || equalsLowercase(name, "trailer")
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

extension HTTPResponseStatus {
    var mayHaveBody: Bool {
        let code = self.code
        return !(code < 200 || code == 204 || code == 304)
    }
}
