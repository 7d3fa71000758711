import BatonOS

/// Where the proxy sends an app's traffic.
///
/// `.address` is a service outside Baton reached over the host's network; `.sandbox` is a port
/// inside a sandbox's network namespace, reached by creating the upstream socket inside that
/// namespace and connecting to 127.0.0.1 (DESIGN.md, Networking). The namespace is held by a
/// descriptor, never named by a /proc path: a reused pid cannot redirect the traffic.
public enum Target: Hashable, Sendable, CustomStringConvertible {
    case address(host: String, port: Int)
    case sandbox(NetworkNamespace, port: Int)

    public var description: String {
        switch self {
        case .address(let host, let port):
            return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .sandbox(let namespace, let port):
            return "\(namespace):\(port)"
        }
    }
}

/// One host's route: the app that owns it and the target serving it now. A nil target means the
/// app exists but has no ready target (answered 503). A hold makes the app's new requests wait
/// for a later table instead (a stop-first deploy), whatever the target.
public struct Route: Hashable, Sendable {
    public let app: String
    public let target: Target?
    public let hold: RouteHold?
    public let options: RouteOptions
    /// Replicas part: every target of an app that runs more than one replica (`target` is the
    /// first of them), routed round-robin; empty for an app with one target.
    public let replicas: [Target]

    public init(app: String, target: Target?, hold: RouteHold? = nil, options: RouteOptions = RouteOptions(),
                replicas: [Target] = []) {
        self.app = app
        self.target = replicas.first ?? target
        self.hold = hold
        self.options = options
        self.replicas = replicas.count > 1 ? replicas : []
    }

    /// Every target the route sends traffic to.
    public var targets: [Target] {
        replicas.isEmpty ? (target.map { [$0] } ?? []) : replicas
    }
}

/// How an app speaks to its upstream: HTTP/1.1, or HTTP/2 without TLS (h2c, for gRPC apps).
public enum UpstreamProtocol: String, Hashable, Sendable, Codable, CaseIterable {
    case http1
    case h2c
}

/// Per-app settings of the proxy (`app create/set --https-redirect --hsts --upstream-protocol`).
public struct RouteOptions: Hashable, Sendable {
    /// Plain HTTP requests are answered 308 to the same URL over https.
    public var httpsRedirect: Bool
    /// Responses over HTTPS carry Strict-Transport-Security.
    public var hsts: Bool
    public var upstreamProtocol: UpstreamProtocol

    public init(httpsRedirect: Bool = false, hsts: Bool = false, upstreamProtocol: UpstreamProtocol = .http1) {
        self.httpsRedirect = httpsRedirect
        self.hsts = hsts
        self.upstreamProtocol = upstreamProtocol
    }
}
