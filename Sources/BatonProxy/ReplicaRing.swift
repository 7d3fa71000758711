import NIOCore
import Synchronization

/// An app's replicas as the request path uses them (`--replicas N`): picked round-robin,
/// skipping one whose connect failed lately (passive ejection). Resolved once per installed
/// table; the ejection lives in each target's `TargetState`, so it outlasts table swaps.
final class ReplicaRing: Sendable {
    /// How long a replica whose connect failed is skipped. Long enough that a dead replica
    /// costs one failed connect per loop, not one per request, until the daemon's next table
    /// (which it installs as soon as it sees the sandbox exit) drops it; short enough that a
    /// replica that was only slow to accept is back soon.
    static let ejection = TimeAmount.seconds(2)

    let members: [TargetState]
    private let turn = Atomic<Int>(0)

    init(members: [TargetState]) {
        self.members = members
    }

    /// The next replica in turn that is not ejected; when every one is, the next in turn
    /// (better a try than a refusal).
    func pick(now: NIODeadline = .now()) -> TargetState {
        let start = turn.wrappingAdd(1, ordering: .relaxed).oldValue
        for step in 0..<members.count {
            let member = members[Self.index(start &+ step, members.count)]
            if !member.isEjected(now: now) { return member }
        }
        return members[Self.index(start, members.count)]
    }

    /// Another replica for a request that `failed` did not answer: the next replica not
    /// ejected and not in `tried`, or nil when none is left. With `eject` (its connect failed)
    /// `failed` is skipped by every request for a while.
    func replacement(for failed: TargetState, tried: [TargetState], eject: Bool, now: NIODeadline = .now()) -> TargetState? {
        if eject { failed.eject(until: now + Self.ejection) }
        return members.first { member in
            member !== failed && !member.isEjected(now: now) && !tried.contains { $0 === member }
        }
    }

    private static func index(_ value: Int, _ count: Int) -> Int {
        let remainder = value % count
        return remainder < 0 ? remainder + count : remainder
    }
}
