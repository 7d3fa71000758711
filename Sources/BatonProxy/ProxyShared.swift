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
    private let targets = Mutex<[Target: TargetState]>([:])

    init(configuration: ProxyConfiguration, connector: any UpstreamConnector, metrics: ProxyMetrics, accessLog: Logger?) {
        self.configuration = configuration
        self.connector = connector
        self.metrics = metrics
        self.accessLog = AccessLog(logger: accessLog)
        self.routes = RoutesBox(ResolvedTable(table: RouteTable(), states: { TargetState(target: $0) }))
    }

    /// Installs `table`, reusing the state of targets already known so their in-flight counts
    /// carry over. Targets no longer routed are forgotten once nothing is in flight on them.
    func install(_ table: RouteTable) {
        targets.withLock { known in
            let wanted = table.targets
            known = known.filter { wanted.contains($0.key) || $0.value.inFlight > 0 }
            for target in wanted where known[target] == nil {
                known[target] = TargetState(target: target)
            }
            let snapshot = known
            routes.replace { _ in ResolvedTable(table: table, states: { snapshot[$0]! }) }
        }
    }

    func state(of target: Target) -> TargetState? {
        targets.withLock { $0[target] }
    }
}
