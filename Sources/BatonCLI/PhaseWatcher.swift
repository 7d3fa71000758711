import BatonControl
import BatonOS
import Glibc
import Synchronization

/// Prints a deploy's phases as they happen. The daemon records each phase the moment it
/// completes, so while the deploy call waits, another thread reads the app's newest running
/// deployment every 50 ms (500 ms on a remote host) and prints what is new.
/// While the new sandbox fails its health checks, a line every few seconds says how many ran
/// and what the last one got, instead of silence until the health timeout.
final class PhaseWatcher: Sendable {
    /// Seconds of failing checks before the first progress line, and between two.
    static let healthProgressSeconds = 3.0

    private let state = Mutex<(done: Bool, printed: Int, healthShownAt: Double)>((false, 0, 0))
    private let stopped = Atomic(false)

    init(client: ControlClient, app: String) {
        let known = (try? client.history(app: app).first?.id) ?? nil
        let started = DetachedThread.start { [self] in
            while !state.withLock({ $0.done }) {
                if let latest = try? client.history(app: app).first, latest.id != known {
                    printNew(latest)
                }
                // Over ssh every look is a new connection: look less often.
                usleep(client.remote == nil ? 50_000 : 500_000)
            }
            stopped.store(true, ordering: .releasing)
        }
        // Without a thread the phases are printed only at the end, by the caller.
        if !started { stopped.store(true, ordering: .releasing) }
    }

    private func printNew(_ record: DeploymentInfo) {
        state.withLock { state in
            guard !state.done else { return }
            for phase in record.phases.dropFirst(state.printed) { DeploymentReport.print(phase) }
            state.printed = max(state.printed, record.phases.count)
            if let wait = record.healthWait, wait.seconds >= state.healthShownAt + Self.healthProgressSeconds {
                state.healthShownAt = wait.seconds
                DeploymentReport.printHealthWait(wait)
            }
        }
    }

    /// Stops watching; `printed` then says how many phases are already on the screen.
    func finish() {
        state.withLock { $0.done = true }
        while !stopped.load(ordering: .acquiring) { usleep(1_000) }
    }

    var printed: Int { state.withLock { $0.printed } }
}
