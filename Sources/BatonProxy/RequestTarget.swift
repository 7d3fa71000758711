import BatonOS
import NIOHTTP1

/// The request-target forms of RFC 9112 §3.2, checked against the method and Host, and the
/// target sent upstream, which is always origin-form (or `*` for a server-wide OPTIONS).
///
/// An absolute-form target (`GET http://app.test/x`) is served only when its authority names
/// the same host and port as the Host header, and is refused with 400 otherwise. RFC 9112
/// §3.2.2 lets the target's authority win over Host; refusing the mismatch instead means no
/// two readers of one request (a cache or firewall in front of Baton, Baton's routing, the
/// app's framework) can ever disagree about which host it is for, while every client that
/// sends both consistently is served. CONNECT is refused (405): Baton is a reverse proxy, not a
/// tunnel to arbitrary authorities, and its upgrades (WebSocket) use GET.
enum RequestTarget {
    enum Decision: Equatable {
        /// Forward with this target.
        case forward(String)
        /// Answer with this status and reason, and close (the request's meaning is in doubt).
        case refuse(HTTPResponseStatus, String)
    }

    /// The methods a resource behind Baton may be asked for: all but CONNECT.
    static let allowedMethods = "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, TRACE"

    static func resolve(method: HTTPMethod, uri: String, hostHeader: String) -> Decision {
        if method.isCONNECT { return .refuse(.methodNotAllowed, "CONNECT is not served") }
        guard let first = uri.utf8.first else { return .refuse(.badRequest, "empty request target") }
        if first == UInt8(ascii: "/") { return .forward(uri) }
        if uri == "*" {
            return method.isOPTIONS ? .forward(uri) : .refuse(.badRequest, "* is a target for OPTIONS only")
        }
        guard let absolute = AbsoluteTarget(uri) else { return .refuse(.badRequest, "invalid request target") }
        guard absolute.names(sameAuthorityAs: hostHeader) else {
            return .refuse(.badRequest, "request target and Host name different hosts")
        }
        if absolute.pathAndQuery.isEmpty { return .forward(method.isOPTIONS ? "*" : "/") }
        if absolute.pathAndQuery.utf8.first == UInt8(ascii: "?") { return .forward("/" + absolute.pathAndQuery) }
        return .forward(String(absolute.pathAndQuery))
    }
}

/// `http://authority/path?query` split at the authority; nil for any other scheme, an empty
/// authority or one with user information.
private struct AbsoluteTarget {
    let defaultPort: Substring
    let authority: Substring
    let pathAndQuery: Substring

    init?(_ uri: String) {
        let text = Substring(uri)
        let rest: Substring
        if text.utf8.count > 7, equalsLowercase(text.prefix(7), "http://") {
            rest = text.dropFirst(7)
            defaultPort = "80"
        } else if text.utf8.count > 8, equalsLowercase(text.prefix(8), "https://") {
            rest = text.dropFirst(8)
            defaultPort = "443"
        } else {
            return nil
        }
        let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        authority = rest[..<end]
        pathAndQuery = rest[end...]
        if authority.isEmpty || authority.contains("@") || pathAndQuery.contains("#") { return nil }
    }

    /// Whether the Host header names the same host (case, trailing dot aside) and port (the
    /// scheme's default when either leaves it out).
    func names(sameAuthorityAs hostHeader: String) -> Bool {
        guard let host = HostName.normalize(String(authority)), host == HostName.normalize(hostHeader) else { return false }
        return port(of: authority) == port(of: Substring(hostHeader))
    }

    private func port(of authority: Substring) -> Substring {
        // After an IPv6 literal's "]", or after the only colon of a name.
        let afterHost = authority.lastIndex(of: "]").map { authority[authority.index(after: $0)...] } ?? authority
        guard let colon = afterHost.lastIndex(of: ":") else { return defaultPort }
        let port = afterHost[afterHost.index(after: colon)...]
        return port.isEmpty ? defaultPort : port
    }
}
