import NIOCore
import Synchronization

/// A connection that lives as long as its client likes: a WebSocket tunnel, or a response of
/// server-sent events. A drain lets it run past the drain timeout of ordinary requests, up to
/// its own, then asks it to go away cleanly; past a short grace it is closed outright.
protocol LongLivedConnection: AnyObject {
    /// Ends the connection at the next place it can end cleanly: a WebSocket gets a close
    /// frame 1001 between two frames, an event stream its last chunk.
    func goAway()
}

/// Who ended a long-lived connection.
enum LongLivedCloser {
    case client, app, baton
}

/// What a drain saw of a target's long-lived connections.
public struct LongLivedReport: Sendable, Equatable {
    /// Open at the flip (and those that became long-lived after it).
    public var open: Int
    /// Ended by the client during the drain.
    public var closedByClient: Int
    /// Ended by the app (blue) during the drain.
    public var closedByApp: Int
    /// Ended by Baton at the long drain timeout (close frame 1001, last chunk, or cut).
    public var closedByBaton: Int

    public init(open: Int = 0, closedByClient: Int = 0, closedByApp: Int = 0, closedByBaton: Int = 0) {
        self.open = open
        self.closedByClient = closedByClient
        self.closedByApp = closedByApp
        self.closedByBaton = closedByBaton
    }
}

/// What a drain of a target came to.
public struct DrainReport: Sendable, Equatable {
    /// Every ordinary request finished before the drain timeout (long-lived connections are
    /// counted in `longLived`).
    public var drained: Bool
    public var longLived: LongLivedReport

    public init(drained: Bool, longLived: LongLivedReport = LongLivedReport()) {
        self.drained = drained
        self.longLived = longLived
    }
}

/// A target's long-lived connections: how many are open, and once a drain has begun, how
/// each ended. Touched from every event loop, hence atomics (one add per open and close).
final class LongLivedCount: Sendable {
    private let openNow = Atomic<Int>(0)
    private let draining = Atomic<Bool>(false)
    private let seen = Atomic<Int>(0)
    private let byClient = Atomic<Int>(0)
    private let byApp = Atomic<Int>(0)
    private let byBaton = Atomic<Int>(0)
    private let asked = Atomic<Int>(0)

    var open: Int { openNow.load(ordering: .relaxed) }

    /// How many Baton has asked to go away (some may still be finishing a frame).
    var askedCount: Int { asked.load(ordering: .relaxed) }

    func opened() {
        openNow.add(1, ordering: .relaxed)
        if draining.load(ordering: .relaxed) { seen.add(1, ordering: .relaxed) }
    }

    func askedToGo() { asked.add(1, ordering: .relaxed) }


    func closed(by closer: LongLivedCloser) {
        openNow.subtract(1, ordering: .relaxed)
        guard draining.load(ordering: .relaxed) else { return }
        switch closer {
        case .client: byClient.add(1, ordering: .relaxed)
        case .app: byApp.add(1, ordering: .relaxed)
        case .baton: byBaton.add(1, ordering: .relaxed)
        }
    }

    /// From now on (the flip away from the target, or its drain), closes are counted; the
    /// open ones are the drain's to report.
    func beginDrain() {
        guard !draining.exchange(true, ordering: .relaxed) else { return }
        seen.add(openNow.load(ordering: .relaxed), ordering: .relaxed)
    }

    var report: LongLivedReport {
        LongLivedReport(open: seen.load(ordering: .relaxed), closedByClient: byClient.load(ordering: .relaxed),
                        closedByApp: byApp.load(ordering: .relaxed), closedByBaton: byBaton.load(ordering: .relaxed))
    }
}

/// One long-lived connection as its event loop keeps it: registered when it becomes long-lived,
/// ended once, with who ended it counted on its target.
final class LongLivedTicket {
    private let loop: LoopContext
    private let target: TargetState
    /// The upstream connection, which an ordinary drain's cut passes over.
    let upstream: ObjectIdentifier
    private var ended = false
    /// Set when Baton asked the connection to go: however it then ends, Baton ended it.
    private(set) var goingAway = false

    init(loop: LoopContext, target: TargetState, upstream: any Channel, connection: any LongLivedConnection) {
        self.loop = loop
        self.target = target
        self.upstream = ObjectIdentifier(upstream)
        target.longLived.opened()
        loop.registerLongLived(self, connection: connection, target: target.target)
    }

    func askToGo() {
        guard !goingAway, !ended else { return }
        goingAway = true
        target.longLived.askedToGo()
    }

    func end(by closer: LongLivedCloser) {
        guard !ended else { return }
        ended = true
        target.longLived.closed(by: goingAway ? .baton : closer)
        loop.unregisterLongLived(self, target: target.target)
    }
}

extension LoopContext {
    func registerLongLived(_ ticket: LongLivedTicket, connection: any LongLivedConnection, target: Target) {
        longLived[target, default: [:]][ticket.upstream] = LongLivedEntry(ticket: ticket, connection: connection)
    }

    func unregisterLongLived(_ ticket: LongLivedTicket, target: Target) {
        longLived[target]?[ticket.upstream] = nil
        if longLived[target]?.isEmpty == true { longLived[target] = nil }
    }

    /// Whether the upstream connection `channel` carries a long-lived connection to `target`,
    /// which an ordinary drain leaves open.
    func isLongLived(_ channel: ObjectIdentifier, target: Target) -> Bool {
        longLived[target]?[channel] != nil
    }

    /// Asks every long-lived connection of this loop, whatever its target, to end cleanly.
    func goAwayAll() {
        for target in Array(longLived.keys) { goAway(target: target) }
    }

    /// Asks every long-lived connection to `target` on this loop to end cleanly.
    func goAway(target: Target) {
        for entry in longLived[target]?.values.map({ $0 }) ?? [] {
            entry.ticket.askToGo()
            entry.connection?.goAway()
        }
    }
}

/// The loop's entry for a long-lived connection; the connection is weak so an entry never
/// keeps a handler alive past its channel.
struct LongLivedEntry {
    let ticket: LongLivedTicket
    weak var connection: (any LongLivedConnection)?
}
