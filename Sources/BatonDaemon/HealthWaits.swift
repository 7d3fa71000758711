import BatonControl
import BatonDeploy
import Foundation
import Synchronization

/// Each app's running deploy's health checks, as the coordinator reports them, so that `baton
/// deploy` can say every few seconds why it still waits (the history shows them as a running
/// deployment's `health_wait`). Written from the coordinator's progress callback, which must
/// not wait: a lock, not an actor.
final class HealthWaits: Sendable {
    private struct Wait {
        var first: ContinuousClock.Instant
        var attempts: Int
        var last: String
    }

    private let waits = Mutex<[String: Wait]>([:])

    /// The progress callback of a swap of `app`.
    func observer(app: String) -> DeployProgress {
        { [self] event in
            switch event {
            case .healthChecked(let attempt, let result):
                waits.withLock { waits in
                    let first = attempt == 1 ? ContinuousClock.now : waits[app]?.first ?? ContinuousClock.now
                    waits[app] = Wait(first: first, attempts: attempt, last: result.description)
                }
            case .completed(let phase) where phase.phase != .healthy:
                break
            case .began, .finished, .completed:
                waits.withLock { _ = $0.removeValue(forKey: app) }
            }
        }
    }

    /// Adds the health checks so far to `app`'s running deployment.
    func annotate(_ records: [DeploymentInfo]) -> [DeploymentInfo] {
        let now = ContinuousClock.now
        let current = waits.withLock { $0 }
        guard !current.isEmpty else { return records }
        return records.map { record in
            guard record.outcome == "running", let wait = current[record.app] else { return record }
            var record = record
            let elapsed = now - wait.first
            record.healthWait = HealthWaitInfo(attempts: wait.attempts, lastResult: wait.last,
                                               seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            return record
        }
    }
}
