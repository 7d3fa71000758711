import NIOCore
import Synchronization

/// While a route holds, its app's new requests wait on their connection's event loop instead
/// of going anywhere: a stop-first deploy holds the app while the old sandbox stops and the new
/// one starts. Installing a table in which the route no longer holds releases them, in the
/// order they came, to whatever that table routes to. A request held longer than `timeout` is
/// answered 503; past `maxHeld` requests of the app held at once, a new one is answered 503 at
/// once. Holding blocks no loop: a held request is a state of its connection.
public struct RouteHold: Hashable, Sendable {
    public var timeout: Duration
    /// Across the whole proxy, for this app.
    public var maxHeld: Int

    /// Each held request keeps its client connection open; 1024 bounds what a flood can pin.
    public static let defaultMaxHeld = 1024

    public init(timeout: Duration, maxHeld: Int = RouteHold.defaultMaxHeld) {
        self.timeout = timeout
        self.maxHeld = maxHeld
    }
}

/// How many of one app's requests are held now, on every event loop: the cap is the app's.
final class HeldCount: Sendable {
    private let count = Atomic<Int>(0)

    /// Counts one more unless `max` are held already.
    func tryEnter(max: Int) -> Bool {
        var current = count.load(ordering: .relaxed)
        while current < max {
            let (exchanged, original) = count.compareExchange(expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func leave() { count.subtract(1, ordering: .relaxed) }

    var value: Int { count.load(ordering: .relaxed) }
}

/// The requests one event loop holds, in the order they came, and the one timer that answers
/// those held too long. Touched only from its loop.
final class HeldRequests {
    private struct Entry {
        let handler: ProxyHandler
        let deadline: NIODeadline
    }

    private let eventLoop: any EventLoop
    private var entries: [Entry] = []
    private var timer: Scheduled<Void>?
    private var timerDeadline = NIODeadline.distantFuture

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    var count: Int { entries.count }

    func add(_ handler: ProxyHandler, deadline: NIODeadline) {
        entries.append(Entry(handler: handler, deadline: deadline))
        if deadline < timerDeadline { schedule(at: deadline) }
    }

    /// The handler's client left or its request was answered otherwise.
    func remove(_ handler: ProxyHandler) {
        entries.removeAll { $0.handler === handler }
        if entries.isEmpty { cancelTimer() }
    }

    /// A new table is installed: each held request, oldest first, routes itself by it; those
    /// whose route still holds wait on, still first in line.
    func tableChanged() {
        let waiting = entries
        entries = []
        var kept: [Entry] = []
        for entry in waiting where entry.handler.routeHeldRequest() {
            kept.append(entry)
        }
        // Requests held meanwhile (a pipelined one behind a released one) come after.
        entries = kept + entries
        rearm()
    }

    /// Answers the requests whose deadline passed; the timer is set for the next one.
    private func expire() {
        timer = nil
        timerDeadline = .distantFuture
        let now = NIODeadline.now()
        let expired = entries.filter { $0.deadline <= now }
        entries.removeAll { $0.deadline <= now }
        for entry in expired { entry.handler.heldTooLong() }
        rearm()
    }

    /// The timer set for the earliest deadline held, or none when nothing is held.
    private func rearm() {
        guard let next = entries.map(\.deadline).min() else {
            cancelTimer()
            return
        }
        if timer == nil || next < timerDeadline { schedule(at: next) }
    }

    private func schedule(at deadline: NIODeadline) {
        timer?.cancel()
        timerDeadline = deadline
        timer = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in expire() }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
        timerDeadline = .distantFuture
    }
}
