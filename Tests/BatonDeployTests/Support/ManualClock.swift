@testable import BatonDeploy
import Foundation
import Synchronization

/// Virtual time. Sleeps up to `autoAdvanceLimit` (health-check intervals) pass at once and move
/// time forward; longer sleeps (drain deadlines) wait until the test calls `advance(by:)` or the
/// task is cancelled. Every requested sleep is recorded.
final class ManualClock: DeployClock {
    private struct Sleeper {
        let wake: Duration
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Duration = .zero
        var sleeps: [Duration] = []
        var sleepers: [Int: Sleeper] = [:]
        var cancelled: Set<Int> = []
        var nextID = 0
    }

    private let state = Mutex(State())
    private let autoAdvanceLimit: Duration
    private let base = Date(timeIntervalSince1970: 1_700_000_000)

    init(autoAdvanceLimit: Duration = .seconds(1)) {
        self.autoAdvanceLimit = autoAdvanceLimit
    }

    func now() -> Duration { state.withLock { $0.now } }

    func date() -> Date {
        let parts = now().components
        return base.addingTimeInterval(Double(parts.seconds) + Double(parts.attoseconds) / 1e18)
    }

    /// Every sleep asked for, in order.
    var sleeps: [Duration] { state.withLock { $0.sleeps } }

    var pendingSleepers: Int { state.withLock { $0.sleepers.count } }

    func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        if duration <= autoAdvanceLimit {
            state.withLock { $0.sleeps.append(duration) }
            advance(by: duration)
            await Task.yield()
            return
        }
        let id = state.withLock { state in
            state.sleeps.append(duration)
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let cancelledAlready = state.withLock { state in
                    if state.cancelled.contains(id) { return true }
                    state.sleepers[id] = Sleeper(wake: state.now + duration, continuation: continuation)
                    return false
                }
                if cancelledAlready { continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            let sleeper = state.withLock { state in
                state.cancelled.insert(id)
                return state.sleepers.removeValue(forKey: id)
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward and wakes every sleeper whose time has come.
    func advance(by duration: Duration) {
        let woken = state.withLock { state in
            state.now += duration
            let due = state.sleepers.filter { $0.value.wake <= state.now }
            for id in due.keys { state.sleepers[id] = nil }
            return due.values.map(\.continuation)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Waits (in real time, bounded) until `count` long sleeps are pending.
    func waitForSleepers(_ count: Int = 1) async throws {
        let limit = ContinuousClock.now + .seconds(60)
        while pendingSleepers < count {
            guard ContinuousClock.now < limit else { throw TestTimeout("no pending sleeper after 60s") }
            try await Task.sleep(for: .milliseconds(1))
        }
    }
}

struct TestTimeout: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
