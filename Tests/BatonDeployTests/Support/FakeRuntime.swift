@testable import BatonDeploy
import BatonOS
import Glibc
import Synchronization

/// A launcher that starts nothing: it hands out handles, remembers which are running, and can
/// be told to fail a start, to report a program gone, or to take virtual time.
final class FakeRuntime: SandboxRuntime {
    private struct State {
        var count = 0
        var running: Set<String> = []
        var stopped: [String] = []
        var failStarts: [String: BatonError] = [:]
        var exited: [String: String] = [:]
    }

    private let state = Mutex(State())
    private let log: CallLog
    private let clock: ManualClock?
    private let startTime: Duration
    private let stopTime: Duration
    let logLines = ["listening on :8080", "panic: cannot open database"]

    init(log: CallLog, clock: ManualClock? = nil, startTime: Duration = .zero, stopTime: Duration = .zero) {
        self.log = log
        self.clock = clock
        self.startTime = startTime
        self.stopTime = stopTime
    }

    /// Starting `digest` throws `error`.
    func failStart(of digest: String, with error: BatonError) { state.withLock { $0.failStarts[digest] = error } }

    /// Every sandbox started from now on reports its program gone with `reason`.
    func exitEverySandbox(reason: String) { state.withLock { $0.exited["*"] = reason } }

    var running: Set<String> { state.withLock { $0.running } }
    var stopped: [String] { state.withLock { $0.stopped } }

    /// The test process's own network namespace: a handle needs one, and no fake connects.
    static let network = try! NetworkNamespace.of(ProcessHandle.attach(to: ProcessIdentity.of(pid: getpid())!))

    /// A handle of a sandbox already running, e.g. the blue a test starts from.
    func adopt(id: String, app: String, digest: String, configVersion: Int64? = nil) -> SandboxHandle {
        state.withLock { _ = $0.running.insert(id) }
        return SandboxHandle(id: id, app: app, digest: digest, pid: 100, network: Self.network, configVersion: configVersion)
    }

    func start(app: String, digest: String, configVersion: Int64?) async throws -> SandboxHandle {
        log.append("start \(digest)" + (configVersion.map { " config \($0)" } ?? ""))
        if startTime > .zero { clock?.advance(by: startTime) }
        let outcome: Result<String, BatonError> = state.withLock { state in
            if let error = state.failStarts[digest] { return .failure(error) }
            state.count += 1
            let id = "sb-\(state.count)"
            state.running.insert(id)
            return .success(id)
        }
        let id = try outcome.get()
        return SandboxHandle(id: id, app: app, digest: digest, pid: 1000, network: Self.network, configVersion: configVersion)
    }

    func exitReason(of sandbox: SandboxHandle) async -> String? {
        state.withLock { $0.exited[sandbox.id] ?? $0.exited["*"] }
    }

    func stop(_ sandbox: SandboxHandle, grace: Duration) async {
        log.append("stop \(sandbox.id)")
        if stopTime > .zero { clock?.advance(by: stopTime) }
        state.withLock { state in
            state.running.remove(sandbox.id)
            state.stopped.append(sandbox.id)
        }
    }

    func lastLogLines(of sandbox: SandboxHandle, count: Int) async -> [String] {
        Array(logLines.suffix(count))
    }
}
