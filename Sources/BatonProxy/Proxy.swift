import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Baton's reverse proxy. Routes each request by Host through the installed `RouteTable`, pools
/// keep-alive upstream connections per target and event loop, and streams bodies both ways with
/// backpressure. Clients speak HTTP/1.1 or HTTP/2 (h2c with prior knowledge) on the plain
/// listener, and HTTP/1.1 or HTTP/2 over TLS on the HTTPS one (`startTLS`).
public final class Proxy: Sendable {
    /// The event loops serving connections; shared with other servers of the daemon.
    public let group: MultiThreadedEventLoopGroup
    public let metrics: ProxyMetrics
    let shared: ProxyShared
    private let loops: [ObjectIdentifier: NIOLoopBoundBox<LoopContext?>]
    /// The listening channels accepting now (none after `stopAccepting`).
    let listeners = Mutex<[any Channel]>([])
    /// Set once `shutdown` begins: no listener starts after that.
    let stopped = Mutex(false)
    /// Set once a shutdown has told every connection to finish (tests wait for it).
    let quiesced = Atomic<Bool>(false)

    public init(
        configuration: ProxyConfiguration = ProxyConfiguration(),
        group: MultiThreadedEventLoopGroup,
        connector: any UpstreamConnector = DefaultUpstreamConnector(),
        metrics: ProxyMetrics = ProxyMetrics(),
        accessLog: AccessLogDestination? = nil
    ) {
        self.group = group
        self.metrics = metrics
        self.shared = ProxyShared(configuration: configuration, connector: connector, metrics: metrics, accessLog: accessLog)
        var loops: [ObjectIdentifier: NIOLoopBoundBox<LoopContext?>] = [:]
        for loop in group.makeIterator() {
            loops[ObjectIdentifier(loop)] = NIOLoopBoundBox.makeEmptyBox(valueType: LoopContext.self, eventLoop: loop)
        }
        self.loops = loops
        GenericTypesWarmUp.run()
    }

    var pipelines: ClientPipelines { ClientPipelines(shared: shared, loops: loops) }

    /// Replaces the route table in one step. Requests already started keep their target; every
    /// request that starts afterwards, on any connection, uses the new table.
    public func install(_ table: RouteTable) {
        guard shared.install(table) else { return }
        // Held requests route themselves again by the new table, each on its own loop. Never
        // once shutdown has begun: the loops may be gone by the time the work would run.
        stopped.withLock { stopped in
            guard !stopped else { return }
            for box in loops.values {
                box.eventLoop.execute { box.value?.held.tableChanged() }
            }
        }
    }

    /// The table in use now.
    public var routeTable: RouteTable {
        shared.routes.load().0.table
    }

    /// Requests of `app` held now, on every event loop, while its route holds.
    public func heldRequests(app: String) -> Int {
        shared.heldCount(app: app)
    }

    /// Requests (and upgraded tunnels) in flight on `target` now.
    public func inFlight(target: Target) -> Int {
        shared.state(of: target)?.inFlight ?? 0
    }

    /// How many of `target`'s WebSockets and event streams a drain has asked to end.
    func longLivedAskedToGo(target: Target) -> Int {
        shared.state(of: target)?.longLived.askedCount ?? 0
    }

    /// The responses `target` gave in the last `seconds` seconds (1...60, the current one
    /// included); nil when the proxy has no live record of the target (not routed, idle).
    public func traffic(target: Target, lastSeconds seconds: Int) -> TrafficSummary? {
        shared.state(of: target)?.traffic.summary(lastSeconds: seconds)
    }

    /// Waits until nothing is in flight on `target` or `deadline` passes, then closes the
    /// target's pooled connections and, past the deadline, whatever is still open to it.
    /// Returns true when the target drained before the deadline.
    @discardableResult
    public func drain(target: Target, deadline: ContinuousClock.Instant) async -> Bool {
        let report = await drain(target: target, deadline: deadline, longDeadline: deadline)
        return report.drained && report.longLived.closedByBaton == 0
    }

    /// Drains `target` in two steps. Ordinary requests get until `deadline`; past it, those
    /// still running are cut. WebSocket tunnels and event streams run on to `longDeadline`
    /// (never earlier than `deadline`), then are asked to end cleanly: a close frame 1001 at a
    /// frame boundary, an event stream's last chunk. What has not ended `goAwayGrace` later
    /// is closed outright, so no client keeps the target alive past that.
    public func drain(target: Target, deadline: ContinuousClock.Instant, longDeadline: ContinuousClock.Instant,
                      goAwayGrace: Duration = .seconds(1)) async -> DrainReport {
        guard let state = shared.state(of: target) else {
            await onEveryLoop { $0.closeConnections(to: target, includingBusy: false) }
            return DrainReport(drained: true)
        }
        state.longLived.beginDrain()
        while state.inFlight - state.longLived.open > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        let ordinaryDrained = state.inFlight - state.longLived.open <= 0
        await onEveryLoop { $0.closeConnections(to: target, includingBusy: !ordinaryDrained, includingLongLived: false) }
        let longDeadline = max(deadline, longDeadline)
        while state.longLived.open > 0, ContinuousClock.now < longDeadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        let longDrained = state.longLived.open == 0
        if !longDrained {
            await onEveryLoop { $0.goAway(target: target) }
            let cutAt = ContinuousClock.now + goAwayGrace
            while state.inFlight > 0, ContinuousClock.now < cutAt {
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        if state.inFlight > 0 {
            await onEveryLoop { $0.closeConnections(to: target, includingBusy: true) }
        }
        // Closes are counted as each channel goes inactive, on its loop: wait for them (bounded).
        let countedBy = ContinuousClock.now + .seconds(1)
        while state.longLived.open > 0, ContinuousClock.now < countedBy {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return DrainReport(drained: ordinaryDrained, longLived: state.longLived.report)
    }

    func onEveryLoop(_ body: @escaping @Sendable (LoopContext) -> Void) async {
        for (_, box) in loops {
            let loop = box.eventLoop
            try? await loop.submit { box.value.map(body) }.get()
        }
    }
}
