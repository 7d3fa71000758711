import Glibc
import NIOCore

/// State owned by one event loop and touched only from it: idle upstream connections, metric
/// handles, the request-id sequence and the cached route table. Keeping it per loop keeps locks
/// off the request path.
final class LoopContext {
    let eventLoop: any EventLoop
    let shared: ProxyShared
    private var idle: [Target: [Channel]] = [:]
    /// Every upstream connection made on this loop, by target, so a drain can close them.
    private var open: [Target: [ObjectIdentifier: Channel]] = [:]
    private var metrics: [String: AppMetrics] = [:]
    private let idPrefix: String
    private var idCounter: UInt64 = 0
    private var tableGeneration: UInt64 = .max
    private var cachedTable: ResolvedTable?
    private var clockSecond: Int = -1
    private var clockPrefix = ""

    init(eventLoop: any EventLoop, shared: ProxyShared) {
        self.eventLoop = eventLoop
        self.shared = shared
        var random = SystemRandomNumberGenerator()
        let bits = random.next() & 0xFFFF_FFFF_FFFF
        self.idPrefix = String(bits, radix: 16).leftPadded(to: 12) + "-"
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

    func nextRequestID() -> String {
        idCounter &+= 1
        return idPrefix + String(idCounter, radix: 16).leftPadded(to: 8)
    }

    func metrics(app: String) -> AppMetrics {
        if let cached = metrics[app] { return cached }
        let made = shared.metrics.appMetrics(app: app)
        metrics[app] = made
        return made
    }

    /// Current UTC time as RFC 3339 with milliseconds; the date part is formatted once a second.
    func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        if now.tv_sec != clockSecond {
            clockSecond = now.tv_sec
            var seconds = now.tv_sec
            var parts = tm()
            gmtime_r(&seconds, &parts)
            clockPrefix = String(parts.tm_year + 1900) + "-" + two(parts.tm_mon + 1) + "-" + two(parts.tm_mday)
                + "T" + two(parts.tm_hour) + ":" + two(parts.tm_min) + ":" + two(parts.tm_sec) + "."
        }
        let millis = now.tv_nsec / 1_000_000
        return clockPrefix + (millis < 10 ? "00" : millis < 100 ? "0" : "") + String(millis) + "Z"
    }

    private func two(_ value: Int32) -> String { value < 10 ? "0" + String(value) : String(value) }

    // MARK: upstream pool

    /// An idle, still-open connection to `target`, if one is pooled.
    func takeIdle(_ target: Target) -> Channel? {
        while var channels = idle[target], let channel = channels.popLast() {
            idle[target] = channels
            if channel.isActive { return channel }
        }
        return nil
    }

    /// Keeps a connection whose exchange finished cleanly for the next request.
    func putIdle(_ channel: Channel, target: Target) {
        var channels = idle[target, default: []]
        guard channels.count < shared.configuration.maxIdlePerTarget, channel.isActive else {
            channel.close(promise: nil)
            return
        }
        channels.append(channel)
        idle[target] = channels
    }

    func removeIdle(_ channel: Channel, target: Target) {
        guard var channels = idle[target], let index = channels.firstIndex(where: { $0 === channel }) else { return }
        channels.remove(at: index)
        idle[target] = channels
    }

    func opened(_ channel: Channel, target: Target) {
        open[target, default: [:]][ObjectIdentifier(channel)] = channel
    }

    func closed(_ channel: Channel, target: Target) {
        open[target]?[ObjectIdentifier(channel)] = nil
        removeIdle(channel, target: target)
        if open[target]?.isEmpty == true { open[target] = nil }
    }

    /// Closes pooled connections to `target`, and with `includingBusy` every connection to it.
    func closeConnections(to target: Target, includingBusy: Bool) {
        let idleChannels = idle.removeValue(forKey: target) ?? []
        for channel in idleChannels { channel.close(promise: nil) }
        if includingBusy, let all = open[target] {
            for channel in all.values { channel.close(promise: nil) }
        }
    }

    func closeAllIdle() {
        let all = idle
        idle = [:]
        for channels in all.values { for channel in channels { channel.close(promise: nil) } }
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
