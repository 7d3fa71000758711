import BatonOS
import Glibc
import NIOCore

/// State owned by one event loop and touched only from it: idle upstream connections, metric
/// handles, the request-id sequence and the cached route table. Keeping it per loop keeps locks
/// off the request path.
final class LoopContext {
    let eventLoop: any EventLoop
    let shared: ProxyShared
    /// Pooled connections by target; keyed by the `TargetState` object so a lookup hashes no strings.
    private var idle: [ObjectIdentifier: IdleUpstreams] = [:]
    /// The pool used last: a run of requests to one target (the common case) finds it without
    /// hashing; taking and returning a connection through the dictionary cost ~1.6k
    /// instructions a request. Always one of `idle`'s values: dropped with it.
    private var lastIdle: (key: ObjectIdentifier, pool: IdleUpstreams)?
    /// Every upstream connection made on this loop, by target, so a drain can close them.
    private var open: [Target: [ObjectIdentifier: Channel]] = [:]
    /// Client connections accepted on this loop, so a shutdown can close those still open
    /// after its grace period while the event loops still run.
    private var clients: [ObjectIdentifier: Channel] = [:]
    private var metrics: [String: AppMetrics] = [:]
    /// WebSocket tunnels and event streams by target and upstream channel: an ordinary drain
    /// passes over them, and they end at their own timeout (LongLivedConnections.swift).
    var longLived: [Target: [ObjectIdentifier: LongLivedEntry]] = [:]
    /// Requests waiting while their app's route holds.
    let held: HeldRequests
    /// HTTP/2 connections to h2c targets, shared by this loop's exchanges.
    let h2c: H2UpstreamPool
    let accessLog: AccessLogBuffer
    /// The client connections' header, body and idle deadlines.
    let deadlines: DeadlineWheel
    /// 12 hex digits, random per loop, then "-"; a request id is this and 8 hex digits of a counter.
    private let idPrefix: [UInt8]
    private var idCounter: UInt64 = 0
    private var tableGeneration: UInt64 = .max
    private var cachedTable: ResolvedTable?
    /// The Host header this loop routed last and what it found, for the table of `generation`.
    private var lastRoute: (generation: UInt64, hostHeader: String, host: String, found: ResolvedRoute??)?
    /// The forwarding fields made last: every request of one client to one host has the same,
    /// and a loop's connections often share both. Kept here rather than per connection, where
    /// it cost every idle connection 0.8 KiB.
    private var lastForwarding: (ip: String, proto: String, host: String?, fields: HeaderFields)?
    private var clockSecond: Int = -1
    /// "YYYY-MM-DDTHH:MM:SS.mmmZ"; the part before the milliseconds changes once a second.
    private var clockText: [UInt8] = Array("1970-01-01T00:00:00.000Z".utf8)

    init(eventLoop: any EventLoop, shared: ProxyShared) {
        self.eventLoop = eventLoop
        self.shared = shared
        self.accessLog = AccessLogBuffer(destination: shared.accessLog.destination, eventLoop: eventLoop)
        deadlines = DeadlineWheel(eventLoop: eventLoop)
        self.held = HeldRequests(eventLoop: eventLoop)
        self.h2c = H2UpstreamPool(eventLoop: eventLoop, shared: shared)
        var random = SystemRandomNumberGenerator()
        let bits = random.next() & 0xFFFF_FFFF_FFFF
        self.idPrefix = Self.hex(bits, digits: 12) + [UInt8(ascii: "-")]
    }

    private static func hex(_ value: UInt64, digits: Int) -> [UInt8] {
        let alphabet = Array("0123456789abcdef".utf8)
        return (0..<digits).reversed().map { alphabet[Int((value >> (UInt64($0) * 4)) & 0xF)] }
    }

    /// The installed table; re-read from the shared box only when its generation moved.
    var table: ResolvedTable {
        let generation = shared.routes.generation
        if generation != tableGeneration || cachedTable == nil {
            let (table, current) = shared.routes.load()
            cachedTable = table
            tableGeneration = current
        }
        return cachedTable!
    }

    /// The route a Host header names: its normalised host name and the table's answer (nil:
    /// no app serves the host; `.some(nil)`: its app has no route now), or nil when the header
    /// is no valid host. The last answer is kept while the table stays the same one: most
    /// requests on a busy loop name the host the one before named, and normalising and
    /// looking it up again cost ~4k instructions.
    func route(hostHeader: String) -> (host: String, found: ResolvedRoute??)? {
        let table = self.table
        if let lastRoute, lastRoute.generation == tableGeneration, lastRoute.hostHeader == hostHeader {
            return (lastRoute.host, lastRoute.found)
        }
        guard let host = HostName.normalize(hostHeader) else { return nil }
        let found = table.resolve(host: host)
        lastRoute = (tableGeneration, hostHeader, host, found)
        return (host, found)
    }

    func nextRequestID() -> String {
        idCounter &+= 1
        let counter = idCounter
        let prefix = idPrefix
        return String(unsafeUninitializedCapacity: prefix.count + 8) { buffer in
            _ = buffer.initialize(from: prefix)
            for position in 0..<8 {
                let nibble = UInt8((counter >> (UInt64(7 - position) * 4)) & 0xF)
                buffer[prefix.count + position] = nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
            }
            return prefix.count + 8
        }
    }

    func metrics(app: String) -> AppMetrics {
        // A retired one's series were dropped with its app (ProxyMetrics.keep).
        if let cached = metrics[app], !cached.lease.isRetired { return cached }
        let made = shared.metrics.appMetrics(app: app)
        metrics[app] = made
        return made
    }

    /// Current UTC time as RFC 3339 with milliseconds; the date part is formatted once a second.
    func timestamp() -> [UInt8] {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        if now.tv_sec != clockSecond {
            clockSecond = now.tv_sec
            var seconds = now.tv_sec
            var parts = tm()
            gmtime_r(&seconds, &parts)
            let text = String(parts.tm_year + 1900) + "-" + two(parts.tm_mon + 1) + "-" + two(parts.tm_mday)
                + "T" + two(parts.tm_hour) + ":" + two(parts.tm_min) + ":" + two(parts.tm_sec) + ".000Z"
            clockText = Array(text.utf8)
        }
        let millis = now.tv_nsec / 1_000_000
        let end = clockText.count - 1
        clockText[end - 3] = UInt8(ascii: "0") + UInt8(millis / 100)
        clockText[end - 2] = UInt8(ascii: "0") + UInt8(millis / 10 % 10)
        clockText[end - 1] = UInt8(ascii: "0") + UInt8(millis % 10)
        return clockText
    }

    private func two(_ value: Int32) -> String { value < 10 ? "0" + String(value) : String(value) }

    // MARK: upstream pool

    /// An idle, still-open connection to `target`, if one is pooled.
    func takeIdle(_ target: TargetState) -> UpstreamHandler? {
        guard let pool = idlePool(ObjectIdentifier(target), creating: false) else { return nil }
        while let handler = pool.handlers.popLast() {
            if handler.isReusable {
                handler.becameBusy()
                return handler
            }
        }
        return nil
    }

    /// Keeps a connection whose exchange finished cleanly for the next request.
    func putIdle(_ handler: UpstreamHandler) {
        if handler.multiplexed {
            handler.finishStream()
            return
        }
        // Reusable first: a connection that is not makes no pool for its target.
        guard handler.isReusable, let pool = idlePool(ObjectIdentifier(handler.target), creating: true),
            pool.handlers.count < shared.configuration.maxIdlePerTarget
        else {
            handler.markBroken()
            handler.context?.close(promise: nil)
            return
        }
        pool.handlers.append(handler)
        handler.becameIdle()
    }

    func removeIdle(_ handler: UpstreamHandler) {
        let key = ObjectIdentifier(handler.target)
        guard let pool = idlePool(key, creating: false),
            let index = pool.handlers.firstIndex(where: { $0 === handler })
        else { return }
        pool.handlers.remove(at: index)
        // A target that went away must not leave its key behind for the loop's lifetime.
        if pool.handlers.isEmpty { dropIdlePool(key) }
    }

    /// The pool of the target `key` names, made when `creating` and there is none.
    private func idlePool(_ key: ObjectIdentifier, creating: Bool) -> IdleUpstreams? {
        if let lastIdle, lastIdle.key == key { return lastIdle.pool }
        let pool: IdleUpstreams
        if let found = idle[key] {
            pool = found
        } else if creating {
            pool = IdleUpstreams()
            idle[key] = pool
        } else {
            return nil
        }
        lastIdle = (key, pool)
        return pool
    }

    private func dropIdlePool(_ key: ObjectIdentifier) {
        idle[key] = nil
        if lastIdle?.key == key { lastIdle = nil }
    }

    func opened(_ channel: Channel, target: Target) {
        open[target, default: [:]][ObjectIdentifier(channel)] = channel
    }

    func closed(_ channel: Channel, handler: UpstreamHandler) {
        closed(channel, target: handler.target.target)
        removeIdle(handler)
    }

    /// An upgraded connection left the pool's bookkeeping when its tunnel closed.
    func closed(_ channel: Channel, target: Target) {
        open[target]?[ObjectIdentifier(channel)] = nil
        if open[target]?.isEmpty == true { open[target] = nil }
    }

    /// Closes pooled connections to `target`, with `includingBusy` every ordinary connection
    /// to it, and with `includingLongLived` its WebSocket tunnels and event streams too.
    func closeConnections(to target: Target, includingBusy: Bool, includingLongLived: Bool = true) {
        for (key, pool) in idle where pool.handlers.first?.target.target == target {
            dropIdlePool(key)
            for handler in pool.handlers { handler.context?.close(promise: nil) }
        }
        if includingBusy, let all = open[target] {
            for (key, channel) in all where includingLongLived || !isLongLived(key, target: target) {
                channel.close(promise: nil)
            }
        }
        h2c.closeConnections(to: target, includingBusy: includingBusy)
    }

    /// Tracks `channel` until it closes.
    func accepted(_ channel: Channel) {
        let key = ObjectIdentifier(channel)
        clients[key] = channel
        // On this loop (the initializer runs on it), so the isolated callback may touch `clients`.
        channel.closeFuture.assumeIsolated().whenComplete { [self] _ in clients[key] = nil }
        // Accepted before the listener closed but set up after the shutdown told the others:
        // told now, once its handlers are in place.
        if shared.connections.isQuiescing {
            eventLoop.assumeIsolated().execute { channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
        }
    }

    /// Shutdown: tells every client connection of this loop to finish (`ChannelShouldQuiesceEvent`).
    /// HTTP/1.1 ends after a response that says `Connection: close`, HTTP/2 sends GOAWAY, a TLS
    /// handshake in progress finishes first, tunnels and event streams run on.
    func quiesce() {
        for channel in clients.values { channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
    }

    /// The shutdown's grace period is over: idle HTTP/1.1 connections close, the others end
    /// after the exchange in progress, and WebSockets and event streams are asked to end cleanly.
    func graceEnded() {
        for channel in clients.values { channel.pipeline.fireUserInboundEventTriggered(ShutdownGraceEnded()) }
        goAwayAll()
    }

    /// Closes every client and upstream connection of this loop, busy or not: the end of a
    /// shutdown whose grace period is over.
    func closeEverything() {
        idle = [:]
        lastIdle = nil
        for channel in clients.values { channel.close(promise: nil) }
        for channels in open.values { for channel in channels.values { channel.close(promise: nil) } }
        h2c.closeAll()
    }

    /// X-Forwarded-* , X-Real-IP and Forwarded for a request of `client` to `host`.
    func forwardingFields(_ client: ForwardedHeaders.Client, host: String?) -> HeaderFields {
        if let last = lastForwarding, last.ip == client.ip, last.host == host, last.proto == client.proto { return last.fields }
        let fields = client.forwardingFields(host: host)
        lastForwarding = (client.ip, client.proto, host, fields)
        return fields
    }
}

/// One target's pooled upstream connections on one loop, the most recently used last. A class,
/// so that the loop can keep the one it used last at hand (`LoopContext.lastIdle`).
final class IdleUpstreams {
    var handlers: [UpstreamHandler] = []
}
