import BatonControl
import BatonDeploy
import BatonOS
import Foundation
import GRDB

/// The deployment history in the state database: every phase is written as it completes, so
/// after a crash the record says how far a swap got.
struct DeploymentRepository: DeploymentRecorder {
    let database: StateDatabase
    /// `trigger_detail` of a `deploy` onto an app that had served and served nothing.
    static let redeployDetail = "redeploy: nothing was serving (stopped, or restarts gave up)"

    func begin(app: String, from: String?, to: String, fromConfig: Int64?, toConfig: Int64?, at date: Date) async throws -> Int64 {
        let cause = DeploymentCause.current
        return try database.write { db in
            // An operator's deploy onto an app that served before and serves nothing now (its
            // sandbox was stopped, or its restarts gave up) is told apart from the first one.
            var detail = cause.detail
            if cause.trigger == .deploy, detail == nil, from == nil,
               try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM deployments WHERE app = ? AND outcome = 'succeeded')",
                                 arguments: [app]) == true {
                detail = Self.redeployDetail
            }
            try db.execute(
                sql: """
                    INSERT INTO deployments (app, from_digest, to_digest, from_config_version, config_version, outcome, started_at,
                                             trigger, trigger_detail)
                    VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?)
                    """,
                arguments: [app, from, to, fromConfig, toConfig, Timestamp.string(date), cause.trigger.rawValue, detail])
            return db.lastInsertedRowID
        }
    }

    func record(_ phase: PhaseRecord, deployment id: Int64) async throws {
        try database.write { db in
            try db.execute(
                sql: "INSERT INTO deployment_phases (deployment_id, phase, completed_at, seconds, detail) VALUES (?, ?, ?, ?, ?)",
                arguments: [id, phase.phase.rawValue, Timestamp.string(phase.completedAt), phase.seconds, phase.detail])
        }
    }

    func finish(deployment id: Int64, outcome: DeploymentOutcome, reason: String?, at date: Date) async throws {
        try database.write { db in
            try db.execute(
                sql: "UPDATE deployments SET outcome = ?, reason = ?, finished_at = ? WHERE id = ?",
                arguments: [outcome.rawValue, reason, Timestamp.string(date), id])
        }
    }

    func recordBake(_ report: BakeReport, deployment id: Int64) async throws {
        try database.recordBake(report, deployment: id)
    }

    func history(app: String) async throws -> [DeploymentRecord] {
        try database.deployments(app: app).map { info in
            var record = DeploymentRecord(
                id: info.id, app: info.app, fromDigest: info.fromDigest, toDigest: info.toDigest,
                startedAt: Timestamp.date(info.startedAt) ?? Date(timeIntervalSince1970: 0),
                phases: info.phases.compactMap { phase in
                    DeployPhase(rawValue: phase.phase).map {
                        PhaseRecord(phase: $0, completedAt: Timestamp.date(phase.completedAt) ?? Date(timeIntervalSince1970: 0),
                                    duration: .milliseconds(Int64(phase.seconds * 1000)), detail: phase.detail)
                    }
                },
                outcome: DeploymentOutcome(rawValue: info.outcome) ?? .interrupted, reason: info.reason,
                finishedAt: info.finishedAt.flatMap(Timestamp.date), fromConfigVersion: info.fromConfigVersion,
                configVersion: info.configVersion)
            record.longLived = info.longLived.map {
                LongLivedCounts(open: $0.open, closedByClient: $0.closedByClient, closedByApp: $0.closedByApp, closedByBaton: $0.closedByBaton)
            }
            return record
        }
    }
}

extension StateDatabase {
    /// Deployments, newest first; all apps when `app` is nil.
    func deployments(app: String?) throws -> [DeploymentInfo] {
        try deployments(app == nil ? "" : "WHERE app = ?", app.map { [$0] } ?? [])
    }

    func deployment(id: Int64) throws -> DeploymentInfo? {
        try deployments("WHERE id = ?", [id]).first
    }

    /// The deployments `filter` (a WHERE clause on `deployments`) selects, newest first, with
    /// their phases: two queries however many there are (the CLI polls this during a deploy).
    private func deployments(_ filter: String, _ arguments: StatementArguments) throws -> [DeploymentInfo] {
        try read { db in
            var phases: [Int64: [PhaseInfo]] = [:]
            let phaseRows = try Row.fetchAll(db, sql: """
                SELECT * FROM deployment_phases WHERE deployment_id IN (SELECT id FROM deployments \(filter)) ORDER BY rowid
                """, arguments: arguments)
            for row in phaseRows {
                phases[row["deployment_id"], default: []].append(
                    PhaseInfo(phase: row["phase"], completedAt: row["completed_at"], seconds: row["seconds"], detail: row["detail"]))
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM deployments \(filter) ORDER BY id DESC", arguments: arguments).map { row in
                let id: Int64 = row["id"]
                var info = DeploymentInfo(id: id, app: row["app"], fromDigest: row["from_digest"], toDigest: row["to_digest"],
                                          outcome: row["outcome"], reason: row["reason"], startedAt: row["started_at"],
                                          finishedAt: row["finished_at"], phases: phases[id] ?? [], logLines: nil)
                info.configVersion = row["config_version"]
                info.fromConfigVersion = row["from_config_version"]
                info.longLived = Self.readLongLived(row)
                info.bake = Self.readBake(row)
                info.verify = Self.verifyReport(row)
                info.trigger = row["trigger"]
                info.triggerDetail = row["trigger_detail"]
                return info
            }
        }
    }

    /// Deployments a crashed daemon left running are recorded as interrupted.
    func interruptRunningDeployments() throws -> [DeploymentInfo] {
        let running = try deployments("WHERE outcome = 'running'", [])
        try write { db in
            try db.execute(sql: """
                UPDATE deployments SET outcome = 'interrupted', reason = 'the daemon stopped during the deploy', finished_at = ?
                WHERE outcome = 'running'
                """, arguments: [Timestamp.now()])
        }
        return running
    }
}
