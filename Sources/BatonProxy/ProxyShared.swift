import Logging
import NIOCore
import Synchronization

/// What every connection of one proxy shares: settings, the route table, connector, metrics,
/// access log and the live state of each target.
final class ProxyShared: Sendable {
    let configuration: ProxyConfiguration
    let routes: RoutesBox
    let connector: any UpstreamConnector
    let metrics: ProxyMetrics
    let accessLog: AccessLog
    /// Client connections open now, over every listener; whether a shutdown has begun.
    let connections = AcceptedConnections()
    private let targets = Mutex<[Target: TargetState]>([:])
    /// The HTTPS listener's port, 0 while none runs: where `--https-redirect` sends clients.
    private let httpsPort = Atomic<Int>(0)
    /// Per app, how many of its requests are held; kept while its route holds or requests are held.
    private let heldCounts = Mutex<[String: HeldCount]>([:])

    init(configuration: ProxyConfiguration, connector: any UpstreamConnector, metrics: ProxyMetrics, accessLog: AccessLogDestination?) {
        self.configuration = configuration
        self.connector = connector
        self.metrics = metrics
        self.accessLog = AccessLog(accessLog)
        self.routes = RoutesBox(ResolvedTable(table: RouteTable(), states: { TargetState(target: $0) }))
    }

    /// Installs `table`, reusing the state of targets already known so their in-flight counts
    /// carry over. Targets no longer routed are forgotten once nothing is in flight on them;
    /// held counts likewise once nothing is held. Returns whether the table replaced held
    /// routes, whose held requests must now route themselves again.
    @discardableResult
    func install(_ table: RouteTable) -> Bool {
        targets.withLock { known in
            let wanted = table.targets
            // A target this table stops routing to was flipped away from: its long-lived
            // connections are counted from now (LongLivedCount).
            for (target, state) in known where !wanted.contains(target) { state.longLived.beginDrain() }
            known = known.filter { wanted.contains($0.key) || $0.value.inFlight > 0 }
            for target in wanted where known[target] == nil {
                known[target] = TargetState(target: target)
            }
            let snapshot = known
            let counts = heldCounts.withLock { counts in
                let holding = Set(table.entries.filter { $0.route.hold != nil }.map(\.route.app))
                counts = counts.filter { holding.contains($0.key) || $0.value.value > 0 }
                for app in holding where counts[app] == nil { counts[app] = HeldCount() }
                return counts
            }
            var replacedHolds = false
            routes.replace { old in
                replacedHolds = old.holds
                return ResolvedTable(table: table, states: { snapshot[$0]! }, heldCounts: { counts[$0]! })
            }
            return replacedHolds
        }
    }

    var tlsPort: Int? {
        let port = httpsPort.load(ordering: .relaxed)
        return port == 0 ? nil : port
    }

    func httpsListening(on port: Int?) {
        httpsPort.store(port ?? 0, ordering: .relaxed)
    }

    func heldCount(app: String) -> Int {
        heldCounts.withLock { $0[app]?.value ?? 0 }
    }

    func state(of target: Target) -> TargetState? {
        targets.withLock { $0[target] }
    }
}
