import NIOCore
import Synchronization

/// The proxy's live record of one target: how many requests are in flight on it and where to
/// connect. Shared by every route table that names the target, so counts survive table swaps.
final class TargetState: Sendable {
    let target: Target
    /// Pre-resolved address for IP-literal `.address` targets; nil means resolve per connect.
    let socketAddress: SocketAddress?
    /// `description` of the target, computed once for logs.
    let label: String
    private let inFlightCount = Atomic<Int>(0)
    /// Its WebSocket tunnels and event streams (counted in `inFlight` too).
    let longLived = LongLivedCount()
    /// Responses of the last minute, per second (bake windows read them).
    let traffic = TargetTraffic()
    /// Until when a replica whose connect failed is skipped (`ReplicaRing`), in
    /// `NIODeadline` nanoseconds; 0: not ejected.
    private let ejectedUntil = Atomic<Int64>(0)

    init(target: Target) {
        self.target = target
        self.label = target.description
        if case .address(let host, let port) = target {
            self.socketAddress = try? SocketAddress(ipAddress: host, port: port)
        } else {
            self.socketAddress = nil
        }
    }

    var inFlight: Int { inFlightCount.load(ordering: .relaxed) }

    func enter() { inFlightCount.add(1, ordering: .relaxed) }

    func leave() { inFlightCount.subtract(1, ordering: .relaxed) }

    func eject(until deadline: NIODeadline) { ejectedUntil.store(Int64(deadline.uptimeNanoseconds), ordering: .relaxed) }

    func isEjected(now: NIODeadline) -> Bool { Int64(now.uptimeNanoseconds) < ejectedUntil.load(ordering: .relaxed) }
}

/// A route as the request path uses it: the app, its target state (nil: 503), and while the
/// route holds, the hold and the app's count of held requests, all resolved when the table is
/// installed.
final class ResolvedRoute: Sendable {
    let app: String
    let target: TargetState?
    let hold: (RouteHold, HeldCount)?
    let options: RouteOptions
    /// Replicas part: the app's replicas when it has more than one, else nil.
    let ring: ReplicaRing?

    init(app: String, target: TargetState?, hold: (RouteHold, HeldCount)? = nil, options: RouteOptions = RouteOptions(),
         ring: ReplicaRing? = nil) {
        self.app = app
        self.options = options
        self.target = target
        self.hold = hold
        self.ring = ring
    }

    /// Where a new request of this route goes: the next replica, or the one target.
    func pickTarget() -> TargetState? {
        ring?.pick() ?? target
    }
}

/// The installed table: the public `RouteTable` with each route resolved.
struct ResolvedTable: Sendable {
    let table: RouteTable
    let routes: [Route: ResolvedRoute]

    init(table: RouteTable, states: (Target) -> TargetState, heldCounts: (String) -> HeldCount = { _ in HeldCount() }) {
        self.table = table
        var routes: [Route: ResolvedRoute] = [:]
        for (_, route) in table.entries where routes[route] == nil {
            routes[route] = ResolvedRoute(app: route.app, target: route.target.map(states),
                                          hold: route.hold.map { ($0, heldCounts(route.app)) }, options: route.options,
                                          ring: route.replicas.count > 1 ? ReplicaRing(members: route.replicas.map(states)) : nil)
        }
        self.routes = routes
    }

    /// Whether a route of this table holds: replacing it must wake the held requests.
    var holds: Bool { routes.keys.contains { $0.hold != nil } }

    func resolve(host: String) -> ResolvedRoute?? {
        guard let route = table.route(forHost: host) else { return .none }
        return .some(routes[route])
    }
}
