import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import Synchronization

/// Baton's HTTP/1.1 reverse proxy. Routes each request by Host through the installed
/// `RouteTable`, pools keep-alive upstream connections per target and event loop, and streams
/// bodies both ways with backpressure.
public final class Proxy: Sendable {
    /// The event loops serving connections; shared with other servers of the daemon.
    public let group: MultiThreadedEventLoopGroup
    public let metrics: ProxyMetrics
    let shared: ProxyShared
    private let loops: [ObjectIdentifier: NIOLoopBoundBox<LoopContext?>]
    /// Made by `start` and dropped at the end of `shutdown`: its deinit completes a promise on
    /// the group, which must still be running then.
    private let quiesce = Mutex<ServerQuiescingHelper?>(nil)
    private let serverChannel = Mutex<(any Channel)?>(nil)
    private let stopped = Mutex(false)

    public init(
        configuration: ProxyConfiguration = ProxyConfiguration(),
        group: MultiThreadedEventLoopGroup,
        connector: any UpstreamConnector = DefaultUpstreamConnector(),
        metrics: ProxyMetrics = ProxyMetrics(),
        accessLog: Logger? = nil
    ) {
        self.group = group
        self.metrics = metrics
        self.shared = ProxyShared(configuration: configuration, connector: connector, metrics: metrics, accessLog: accessLog)
        var loops: [ObjectIdentifier: NIOLoopBoundBox<LoopContext?>] = [:]
        for loop in group.makeIterator() {
            loops[ObjectIdentifier(loop)] = NIOLoopBoundBox.makeEmptyBox(valueType: LoopContext.self, eventLoop: loop)
        }
        self.loops = loops
    }

    /// Starts accepting on `host:port` (port 0 picks a free port) and returns the bound address.
    public func start(host: String, port: Int) async throws -> SocketAddress {
        let shared = self.shared
        let loops = self.loops
        let quiesce = ServerQuiescingHelper(group: group)
        self.quiesce.withLock { $0 = quiesce }
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        decoderLimits.maxHeaderListSize = shared.configuration.maxHeaderBytes
        decoderLimits.maxHeaderFieldSize = shared.configuration.maxHeaderBytes
        let limits = decoderLimits
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let pipeline = channel.pipeline.syncOperations
                        try pipeline.addHandler(AcceptBackoff())
                        try pipeline.addHandler(quiesce.makeServerChannelHandler(channel: channel))
                    }
                }
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(.maxMessagesPerRead, value: 8)
                // A client that sends its request and shuts down its write side still gets the answer.
                .childChannelOption(.allowRemoteHalfClosure, value: true)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try Self.configureClient(channel, loops: loops, shared: shared, limits: limits)
                    }
                }
                .bind(host: host, port: port).get()
        } catch {
            self.quiesce.withLock { $0 = nil }
            throw error
        }
        serverChannel.withLock { $0 = channel }
        guard let address = channel.localAddress else { throw ChannelError.unknownLocalAddress }
        return address
    }

    /// A client connection's pipeline: deadlines, HTTP/1.1 framing, then the proxy itself, which
    /// shares its loop's upstream pools.
    private static func configureClient(
        _ channel: any Channel, loops: [ObjectIdentifier: NIOLoopBoundBox<LoopContext?>], shared: ProxyShared,
        limits: NIOHTTPDecoderLimitConfiguration
    ) throws {
        let box = loops[ObjectIdentifier(channel.eventLoop)]!
        let loop: LoopContext
        if let existing = box.value {
            loop = existing
        } else {
            loop = LoopContext(eventLoop: channel.eventLoop, shared: shared)
            box.value = loop
        }
        let deadline = ClientDeadline(configuration: shared.configuration)
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(deadline)
        try pipeline.configureHTTPServerPipeline(
            withPipeliningAssistance: false, withServerUpgrade: nil, withErrorHandling: false,
            withOutboundHeaderValidation: false, withEncoderConfiguration: .init(),
            withDecoderLimitConfiguration: limits)
        try pipeline.addHandler(ProxyHandler(loop: loop, clientDeadline: deadline))
        loop.accepted(channel)
    }

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

    /// Waits until nothing is in flight on `target` or `deadline` passes, then closes the
    /// target's pooled connections and, past the deadline, whatever is still open to it.
    /// Returns true when the target drained before the deadline.
    @discardableResult
    public func drain(target: Target, deadline: ContinuousClock.Instant) async -> Bool {
        let state = shared.state(of: target)
        while let state, state.inFlight > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        let drained = (state?.inFlight ?? 0) == 0
        await onEveryLoop { $0.closeConnections(to: target, includingBusy: !drained) }
        return drained
    }

    /// Stops accepting, lets in-flight requests finish for up to `gracePeriod`, then closes
    /// what is left. The event loop group stays up (its owner shuts it down).
    public func shutdown(gracePeriod: Duration) async {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard first, let quiesce = self.quiesce.withLock({ $0 }) else { return }
        let promise = group.next().makePromise(of: Void.self)
        // Registered once: a callback added to a completed future from off its loop runs later,
        // on the loop, so a flag made per poll would never be seen set.
        let finished = DoneFlag()
        promise.futureResult.whenComplete { _ in finished.set() }
        quiesce.initiateShutdown(promise: promise)
        await wait(for: finished, until: ContinuousClock.now + gracePeriod)
        // What is still open after the grace period is closed now, while every event loop
        // still runs to finish the closing (the group is shut down after this returns).
        await onEveryLoop { $0.closeEverything() }
        // Each client connection tells the quiescing helper it has gone on the listener's
        // loop; returning before they all have would let the owner shut that loop down first,
        // and a connection closing later on another loop would schedule work on a dead one.
        await wait(for: finished, until: ContinuousClock.now + .seconds(5))
        if let channel = serverChannel.withLock({ $0 }) {
            try? await channel.close()
        }
        self.quiesce.withLock { $0 = nil }
    }

    private func wait(for flag: DoneFlag, until deadline: ContinuousClock.Instant) async {
        while !flag.isSet, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    private func onEveryLoop(_ body: @escaping @Sendable (LoopContext) -> Void) async {
        for (_, box) in loops {
            let loop = box.eventLoop
            try? await loop.submit { box.value.map(body) }.get()
        }
    }
}

/// A flag set from an event loop and polled from elsewhere.
private final class DoneFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}

extension Proxy {
    /// Starts accepting TLS on `host:port` (port 0 picks a free port): each hello gets its
    /// certificate from `certificates` by SNI, ALPN picks HTTP/2 or HTTP/1.1, and requests are
    /// routed as on the plain listener. Returns the bound address.
    public func startTLS(host: String, port: Int, certificates: any ServerCertificates) async throws -> SocketAddress {
        // PLACEHOLDER (issue 13 contract): the proxy's TLS front replaces this body.
        throw ChannelError.operationUnsupported
    }
}
