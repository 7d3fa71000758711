extension ProxyHandler {
    /// Where a plain-HTTP request for an app with `--https-redirect` is sent instead. Nil when
    /// the request came over TLS, the app does not ask for it, or no HTTPS listener runs: then
    /// the request is served over plain HTTP as before, rather than sent to a port where
    /// nothing answers (docs/proxy.md).
    func httpsRedirect(_ route: ResolvedRoute, host: String, uri: String) -> String? {
        guard !connection.secure, route.options.httpsRedirect, let port = loop.shared.tlsPort else { return nil }
        return HTTPSRedirectURL.make(host: host, port: port, uri: uri)
    }
}

/// `https://HOST[:PORT]URI`: the request's normalized host, the HTTPS listener's port (left out
/// when it is 443), the request's origin-form target.
enum HTTPSRedirectURL {
    static func make(host: String, port: Int, uri: String) -> String {
        let authority = port == 443 ? host : host + ":" + String(port)
        // `*` (a server-wide OPTIONS) names no resource: the redirect goes to the root.
        let path = uri == "*" ? "/" : uri
        return "https://" + authority + path
    }
}
