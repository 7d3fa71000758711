import BatonProxy

/// Which certificate names the proxy's routes call for. A name no route serves gets no
/// certificate from the local CA and cannot be added: otherwise any client could make the
/// daemon sign whatever it names, and fill the disk with the results.
public struct ServedNames: Sendable {
    /// Previews answer at NAME.<previewDomain>; they share one wildcard certificate.
    public let previewDomain: String?

    public init(previewDomain: String?) {
        self.previewDomain = previewDomain
    }

    /// The name to issue a certificate for, for a hello naming `serverName`: the name itself
    /// when a route names it exactly; the route's wildcard when that covers it (one label
    /// below it, as certificates allow); `*.<previewDomain>` for a preview; else nil.
    public func issuingName(for serverName: String, routes: RouteTable) -> String? {
        guard !CertificateName.isWildcard(serverName), let pattern = routes.pattern(forHost: serverName) else { return nil }
        let above = CertificateName.wildcard(above: serverName)
        if let previewDomain, above == "*." + previewDomain { return above }
        if pattern == serverName || pattern == above { return pattern }
        // Two labels or more below a wildcard route: a certificate for the exact name would be
        // one per name a client makes up, and a wildcard one label up covers no route.
        return nil
    }

    /// Whether `host` (exact or wildcard) names something the proxy serves now: an exact name
    /// any route matches; a wildcard that is a route's own, one label above a route's exact
    /// name, or the preview domain's.
    public func serves(_ host: String, routes: RouteTable) -> Bool {
        guard CertificateName.isWildcard(host) else { return routes.route(forHost: host) != nil }
        if let previewDomain, host == "*." + previewDomain { return true }
        return routes.entries.contains { $0.host == host || CertificateName.wildcard(above: $0.host) == host }
    }
}
