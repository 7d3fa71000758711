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

    public init(app: String, target: Target?, hold: RouteHold? = nil) {
        self.app = app
        self.target = target
        self.hold = hold
    }
}
