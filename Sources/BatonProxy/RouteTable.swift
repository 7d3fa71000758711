/// An immutable map from host names to routes. Exact names win over wildcards; among wildcards
/// (`*.example.com`, matching any name that ends in `.example.com`) the longest suffix wins.
/// The proxy swaps whole tables, so a request sees either the old table or the new one.
public struct RouteTable: Sendable {
    private var exact: [String: Route] = [:]
    private var wildcards: [Substring: Route] = [:]

    /// An empty table: every request is answered 404.
    public init() {}

    /// A table from `(host pattern, route)` pairs; patterns are lower-cased. A later pair for the
    /// same pattern replaces an earlier one (the daemon refuses such duplicates before this).
    public init<S: Sequence>(_ entries: S) where S.Element == (String, Route) {
        for (pattern, route) in entries {
            let pattern = pattern.lowercased()
            if pattern.hasPrefix("*.") {
                wildcards[Substring(pattern.dropFirst(1))] = route
            } else {
                exact[pattern] = route
            }
        }
    }

    /// The route for a normalized host name (see `HostName.normalize`), or nil.
    public func route(forHost host: String) -> Route? {
        if let route = exact[host] { return route }
        if wildcards.isEmpty { return nil }
        var index = host.startIndex
        while let dot = host[index...].firstIndex(of: ".") {
            if let route = wildcards[host[dot...]] { return route }
            index = host.index(after: dot)
        }
        return nil
    }

    /// The pattern that routes a normalized host name: the name itself or the wildcard that
    /// matches it (`*.example.com`); nil when nothing does. (The HTTPS listener's local CA
    /// issues for the pattern, so a wildcard route cannot make it sign every name beneath.)
    public func pattern(forHost host: String) -> String? {
        if exact[host] != nil { return host }
        var index = host.startIndex
        while let dot = host[index...].firstIndex(of: ".") {
            if wildcards[host[dot...]] != nil { return "*" + host[dot...] }
            index = host.index(after: dot)
        }
        return nil
    }

    /// Every (pattern, route) pair, sorted by pattern.
    public var entries: [(host: String, route: Route)] {
        let all = exact.map { ($0.key, $0.value) } + wildcards.map { ("*" + $0.key, $0.value) }
        return all.sorted { $0.0 < $1.0 }.map { (host: $0.0, route: $0.1) }
    }

    /// The distinct targets the table routes to.
    public var targets: Set<Target> {
        Set(exact.values.flatMap(\.targets) + wildcards.values.flatMap(\.targets))
    }
}
