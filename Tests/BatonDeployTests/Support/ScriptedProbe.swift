@testable import BatonDeploy
import Synchronization

/// A health probe that answers from a script (repeating its last answer), optionally taking
/// virtual time per check, optionally held at a gate until the test opens it.
final class ScriptedProbe: HealthProbe {
    private let script: [HealthResult]
    private let calls = Mutex(0)
    private let clock: ManualClock?
    private let checkTime: Duration
    private let gate: Gate?
    private let log: CallLog?

    init(_ script: [HealthResult], clock: ManualClock? = nil, checkTime: Duration = .zero,
         gate: Gate? = nil, log: CallLog? = nil) {
        self.script = script
        self.clock = clock
        self.checkTime = checkTime
        self.gate = gate
        self.log = log
    }

    /// Fails `failures` times with "connection refused", then answers 200.
    static func healthy(after failures: Int, clock: ManualClock? = nil, checkTime: Duration = .zero) -> ScriptedProbe {
        ScriptedProbe(Array(repeating: .failed(reason: "connect 127.0.0.1:8080: Connection refused"), count: failures)
                      + [.responded(status: 200)], clock: clock, checkTime: checkTime)
    }

    var count: Int { calls.withLock { $0 } }

    func check(timeout: Duration) async -> HealthResult {
        let number = calls.withLock { calls in
            calls += 1
            return calls
        }
        log?.append("probe")
        if let gate { await gate.wait() }
        if checkTime > .zero { clock?.advance(by: checkTime) }
        return script[min(number, script.count) - 1]
    }
}

/// A one-shot barrier: tasks wait until the test opens it.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let openAlready = state.withLock { state in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if openAlready { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
