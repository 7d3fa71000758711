@testable import BatonDeploy
import Foundation
import Synchronization

/// Deployment history in memory, logging each call in order.
final class FakeRecorder: DeploymentRecorder {
    private let records = Mutex<[DeploymentRecord]>([])
    private let log: CallLog

    init(log: CallLog) { self.log = log }

    var all: [DeploymentRecord] { records.withLock { $0 } }

    func begin(app: String, from: String?, to: String, fromConfig: Int64?, toConfig: Int64?, at: Date) async throws -> Int64 {
        log.append("begin \(app) \(from ?? "-") \(to)")
        return records.withLock { records in
            let id = Int64(records.count + 1)
            records.append(DeploymentRecord(id: id, app: app, fromDigest: from, toDigest: to, startedAt: at,
                                            fromConfigVersion: fromConfig, configVersion: toConfig))
            return id
        }
    }

    func record(_ phase: PhaseRecord, deployment id: Int64) async throws {
        log.append("phase \(phase.phase.rawValue)")
        records.withLock { $0[Int(id) - 1].phases.append(phase) }
    }

    func finish(deployment id: Int64, outcome: DeploymentOutcome, reason: String?, at: Date) async throws {
        log.append("finish \(outcome.rawValue)")
        records.withLock { records in
            records[Int(id) - 1].outcome = outcome
            records[Int(id) - 1].reason = reason
            records[Int(id) - 1].finishedAt = at
        }
    }

    func history(app: String) async throws -> [DeploymentRecord] {
        records.withLock { $0.filter { $0.app == app }.reversed() }
    }
}
