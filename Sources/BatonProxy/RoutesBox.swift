import Synchronization

/// The one reference through which every request reads the route table. Installing replaces
/// the whole table; a generation counter lets each event loop keep its own copy and re-read
/// under the lock only after a change.
final class RoutesBox: Sendable {
    private let state: Mutex<(table: ResolvedTable, generation: UInt64)>
    private let currentGeneration = Atomic<UInt64>(0)

    init(_ table: ResolvedTable) {
        state = Mutex((table, 0))
    }

    var generation: UInt64 { currentGeneration.load(ordering: .acquiring) }

    func load() -> (ResolvedTable, UInt64) {
        state.withLock { ($0.table, $0.generation) }
    }

    /// Replaces the table; `make` runs under the lock so concurrent installs are ordered.
    func replace(_ make: (ResolvedTable) -> ResolvedTable) {
        state.withLock { state in
            state.table = make(state.table)
            state.generation &+= 1
            currentGeneration.store(state.generation, ordering: .releasing)
        }
    }
}
