import NIOHTTP1

/// Header rewriting between client and upstream: hop-by-hop headers are removed (RFC 9110
/// §7.6.1), Host is kept, and the forwarding headers are the proxy's alone. Baton is the edge:
/// nothing in front of it is trusted, so every forwarding header a client sends (under any
/// spelling) is dropped and the proxy sets X-Forwarded-For (the client's address only, never
/// appended to), X-Forwarded-Proto, X-Forwarded-Host, X-Real-IP, Forwarded (RFC 7239) and
/// X-Request-Id. Trailers pass both ways, less the fields a trailer must not carry.
enum ForwardedHeaders {
    /// The request head sent upstream. Transfer-Encoding stays (it was validated to be exactly
    /// `chunked`) so the encoder frames the body the way the client did. `uri` is the
    /// origin-form (or `*`) target to send.
    static func upstreamRequest(
        _ head: RequestHead, uri: String, forwarding: (_ host: String?) -> HeaderFields, requestID: String, upgrade: Bool
    ) -> RequestHead {
        // One pass finds what is there, so the common request (none of these headers) is only
        // appended to, never searched again.
        var hasHopByHop = false
        var hasProxyField = false
        var host: String?
        head.headers.forEachField { name, value in
            if host == nil, name.count == 4, equalsLowercase(name, "host") {
                host = String(decoding: value, as: UTF8.self)
            } else if isHopByHop(name) {
                hasHopByHop = true
            } else if isSetByProxy(name) {
                hasProxyField = true
            }
        }
        // Changed as a local, and the head made once: each change of a head makes a new box.
        var headers = head.headers
        if hasHopByHop { removeHopByHop(&headers, keepUpgrade: upgrade) }
        if hasProxyField { headers.removeAll { name, _ in isSetByProxy(name) } }
        if upgrade { headers.add(name: "connection", value: "upgrade") }
        // The block of forwarding fields (the same for every request of a client to one host,
        // which the loop keeps), copied in one piece, then the request's id.
        headers.add(contentsOf: forwarding(host), reservingExtra: 14 + requestID.utf8.count)
        headers.add(name: "x-request-id", value: requestID)
        return RequestHead(version: .http1_1, method: head.method, uri: uri, headers: headers, isKeepAlive: head.isKeepAlive)
    }

    /// The client of one connection as the forwarding headers name it; made once per connection.
    struct Client {
        /// The address, or `-` when it is not known.
        let ip: String
        let proto: String
        /// The `for=` node of RFC 7239 §4: an IPv6 address in brackets and quotes, an unknown
        /// client as `unknown`.
        private let node: String

        init(ip: String, proto: String) {
            self.ip = ip
            self.proto = proto
            if ip == "-" || ip.isEmpty {
                node = "unknown"
            } else if ip.utf8.contains(UInt8(ascii: ":")) {
                node = "\"[" + ip + "]\""
            } else {
                node = ip
            }
        }

        /// X-Forwarded-For, -Proto and -Host (when the request named a host), X-Real-IP and
        /// Forwarded, in that order, for a request to `host`.
        func forwardingFields(host: String?) -> HeaderFields {
            var pairs = [("x-forwarded-for", ip), ("x-forwarded-proto", proto)]
            if let host { pairs.append(("x-forwarded-host", host)) }
            pairs.append(("x-real-ip", ip))
            pairs.append(("forwarded", host.map { forwarded(host: $0) } ?? forwarded))
            return HeaderFields(pairs)
        }

        /// `for=…;proto=…`, any value that is not a token quoted.
        var forwarded: String { Self.forwarded(node: node, proto: proto, host: nil) }

        /// `forwarded` with `;host=…`.
        func forwarded(host: String) -> String { Self.forwarded(node: node, proto: proto, host: host) }

        /// Built in one allocation: made for every connection's first request, so with
        /// `Connection: close` for every request.
        private static func forwarded(node: String, proto: String, host: String?) -> String {
            let proto = ForwardedHeaders.quotedIfNeeded(proto)
            let host = host.map(ForwardedHeaders.quotedIfNeeded)
            var value = ""
            value.reserveCapacity(4 + node.utf8.count + 7 + proto.utf8.count + (host.map { 6 + $0.utf8.count } ?? 0))
            value += "for="
            value += node
            value += ";proto="
            value += proto
            if let host {
                value += ";host="
                value += host
            }
            return value
        }
    }

    private static func quotedIfNeeded(_ value: String) -> String {
        let isToken = value.utf8.withContiguousStorageIfAvailable { $0.allSatisfy(isTokenCharacter) }
            ?? value.utf8.allSatisfy(isTokenCharacter)
        if !value.isEmpty && isToken { return value }
        var quoted = "\""
        for character in value {
            if character == "\"" || character == "\\" { quoted.append("\\") }
            quoted.append(character)
        }
        return quoted + "\""
    }

    /// RFC 9110 §5.6.2 tchar, by ranges: this runs for every byte of every request's host.
    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "^")...UInt8(ascii: "`"), UInt8(ascii: "!"),
            UInt8(ascii: "#")...UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// Whether a header is one the proxy sets itself, in any spelling: `_` for `-` too, since
    /// CGI-style stacks map both to the same variable (`X_Forwarded_For` is `X-Forwarded-For`
    /// to them). X-Forwarded-* of every kind goes (-Ssl, -Port, -Scheme are trusted by
    /// frameworks as much as -Proto).
    @inline(__always)
    static func isSetByProxy<C: Collection>(_ name: C) -> Bool where C.Element == UInt8 {
        let count = name.count
        guard count >= 9, let first = name.first else { return false }
        switch first | 0x20 {
        case UInt8(ascii: "x"):
            return count == 9 && equalsFolded(name, "x-real-ip")
                || count == 12 && equalsFolded(name, "x-request-id")
                || count > 12 && equalsFolded(name.prefix(12), "x-forwarded-")
                // verify: the daemon's load generator's token never reaches an app (VerifyProbe).
                || count == VerifyProbe.tokenHeader.utf8.count && equalsFolded(name, "x-baton-verify")
        case UInt8(ascii: "f"):
            return count == 9 && equalsFolded(name, "forwarded")
        default:
            return false
        }
    }

    /// ASCII case-insensitive equality with a lower-case literal that also takes `_` for `-`.
    private static func equalsFolded<S: Sequence>(_ text: S, _ lower: StaticString) -> Bool where S.Element == UInt8 {
        var pointer = lower.utf8Start
        var remaining = lower.utf8CodeUnitCount
        for byte in text {
            guard remaining > 0 else { return false }
            var folded = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            if folded == UInt8(ascii: "_") { folded = UInt8(ascii: "-") }
            if folded != pointer.pointee { return false }
            pointer += 1
            remaining -= 1
        }
        return remaining == 0
    }

    /// The response head sent to the client, framed for the client's HTTP version. With `hsts`
    /// (an HTTPS client, an app that asks for it) it carries Strict-Transport-Security unless
    /// the app set its own.
    static func clientResponse(
        _ head: ResponseHead, clientVersion: HTTPVersion, keepAlive: Bool, upgrade: Bool, hsts: Bool = false
    ) -> (head: ResponseHead, closeDelimited: Bool) {
        // Changed as locals, and the head made once: each change of a head makes a new box.
        var headers = head.headers
        var version = head.version
        if hsts && !headers.contains(name: "strict-transport-security") {
            headers.add(name: "strict-transport-security", value: strictTransportSecurity)
        }
        if clientVersion.major == 2 {
            // An HTTP/2 stream: the codec drops connection-specific fields (and those that
            // Connection names) as it encodes, and frames the body itself.
            return (ResponseHead(version: version, status: head.status, headers: headers, isKeepAlive: head.isKeepAlive), false)
        }
        removeHopByHop(&headers, keepUpgrade: upgrade)
        var closeDelimited = false
        if clientVersion.minor == 0 {
            version = .http1_0
            if headers.contains(name: "transfer-encoding") {
                // An HTTP/1.0 client cannot read chunks: send the body raw and close after it.
                headers.remove(name: "transfer-encoding")
                closeDelimited = true
            } else if !headers.contains(name: "content-length") && head.status.mayHaveBody {
                closeDelimited = true
            }
            if keepAlive && !closeDelimited { headers.add(name: "connection", value: "keep-alive") }
            // An HTTP/1.0 client gets no chunks, so no trailer section either.
            headers.remove(name: "trailer")
        } else if version != .http1_1 {
            version = .http1_1
        }
        if upgrade {
            headers.add(name: "connection", value: "upgrade")
        } else if !keepAlive || closeDelimited {
            headers.add(name: "connection", value: "close")
        }
        return (ResponseHead(version: version, status: head.status, headers: headers, isKeepAlive: head.isKeepAlive), closeDelimited)
    }

    /// One year, this host only (RFC 6797): what `--hsts` promises browsers.
    static let strictTransportSecurity = "max-age=31536000"

    /// A trailer section to forward: without hop-by-hop fields and without those a trailer may
    /// not set (framing, routing, the Trailer list itself; RFC 9110 §6.5.1), nor any the proxy
    /// sets itself (a recipient that merges trailers into the header section would trust them).
    /// Nil when nothing is left. (The encoder writes trailers only on a chunked message.)
    static func trailers(_ trailers: HTTPHeaders?) -> HTTPHeaders? {
        guard let trailers, !trailers.isEmpty else { return nil }
        var kept = HeaderFields(trailers)
        removeHopByHop(&kept, keepUpgrade: false)
        for name in ["trailer", "content-length", "transfer-encoding", "host", "upgrade"] { kept.remove(name: name) }
        kept.removeAll { name, _ in isSetByProxy(name) }
        return kept.isEmpty ? nil : kept.httpHeaders
    }

    /// Drops hop-by-hop headers and those the Connection header names, keeping the order of
    /// the rest: one pass over the bytes finds them, one drops their offsets. A message without
    /// any of them is left as it is.
    private static func removeHopByHop(_ headers: inout HeaderFields, keepUpgrade: Bool) {
        var present = HopByHop()
        var listed: [String] = []
        headers.forEachField { name, value in
            guard let field = HopByHop.field(name) else { return }
            if field == .upgrade && keepUpgrade { return }
            present.insert(field)
            // `Connection: keep-alive` (or close), what nearly every response carries, lists no
            // other field: no need to split it into tokens.
            if field == .connection && !equalsLowercase(value, "keep-alive") && !equalsLowercase(value, "close") {
                forEachListToken(String(decoding: value, as: UTF8.self)) { token in
                    if isListedForRemoval(token) { listed.append(String(token)) }
                }
            }
        }
        guard !present.isEmpty else { return }
        headers.removeAll { name, _ in
            if let field = HopByHop.field(name), present.contains(field) { return true }
            return !listed.isEmpty && listed.contains { equalsIgnoringCase(name, $0.utf8) }
        }
    }

    /// A Connection token naming a field to drop: options (close, keep-alive) and hop-by-hop
    /// names go anyway, and framing or routing fields are never dropped.
    private static func isListedForRemoval(_ token: Substring) -> Bool {
        !isFraming(token) && !isHopByHop(token) && !equalsLowercase(token, "close")
    }

    /// The hop-by-hop fields (RFC 9110 §7.6.1) as a set of bits.
    private struct HopByHop: OptionSet {
        let rawValue: UInt8
        static let te = HopByHop(rawValue: 1)
        static let upgrade = HopByHop(rawValue: 2)
        static let connection = HopByHop(rawValue: 4)
        static let keepAlive = HopByHop(rawValue: 8)
        static let proxyConnection = HopByHop(rawValue: 16)

        static func field(_ name: UnsafeRawBufferPointer) -> HopByHop? {
            switch name.count {
            case 2: equalsLowercase(name, "te") ? .te : nil
            // Not Trailer: RFC 9110 §6.6.2 makes it end-to-end (RFC 2616's list named "Trailers").
            case 7: equalsLowercase(name, "upgrade") ? .upgrade : nil
            case 10: equalsLowercase(name, "connection") ? .connection : equalsLowercase(name, "keep-alive") ? .keepAlive : nil
            case 16: equalsLowercase(name, "proxy-connection") ? .proxyConnection : nil
            default: nil
            }
        }
    }

    @inline(__always)
    private static func isHopByHop<S: StringProtocol>(_ name: S) -> Bool { isHopByHop(name.utf8) }

    @inline(__always)
    private static func isHopByHop<C: Collection>(_ name: C) -> Bool where C.Element == UInt8 {
        switch name.count {
        case 2: return equalsLowercase(name, "te")
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
    equalsIgnoringCase(a.utf8, b.utf8)
}

/// ASCII case-insensitive equality of two names' bytes (a received field's, a String's UTF-8).
func equalsIgnoringCase<A: Collection, B: Collection>(_ a: A, _ b: B) -> Bool where A.Element == UInt8, B.Element == UInt8 {
    guard a.count == b.count else { return false }
    for (x, y) in zip(a, b) where x != y {
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
