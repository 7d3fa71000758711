import BatonControl
@testable import BatonDaemon
import BatonDeploy
import Foundation
import GRDB
import Testing

/// Migration v10 rebuilds the deployments table (SQLite cannot alter its CHECK): a database
/// from before keeps every deployment and its phases, and takes `rolled_back` and bake reports.
@Suite struct BakeWindowMigrationTests {
    @Test func deploymentsFromBeforeTheMigrationAreKeptAndRolledBackIsAllowed() async throws {
        let old = try OldStateDatabase(upTo: "v7: proxy settings")
        defer { old.remove() }
        try await old.queue.write { db in
            try db.execute(sql: """
                INSERT INTO apps (name, kind, health_status, health_timeout, drain_timeout, env, created_at)
                VALUES ('web', 'sandbox', 200, 30, 30, '[]', '2026-01-01T00:00:00Z');
                INSERT INTO deployments (app, from_digest, to_digest, outcome, reason, started_at, finished_at, config_version)
                VALUES ('web', NULL, 'sha256:aa', 'succeeded', NULL, '2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z', 1);
                INSERT INTO deployment_phases (deployment_id, phase, completed_at, seconds, detail)
                VALUES (1, 'started', '2026-01-01T00:00:00Z', 0.5, 'web-1');
                """)
        }
        try old.queue.close()

        let database = try StateDatabase(path: old.path)
        let kept = try #require(try database.deployment(id: 1))
        #expect(kept.outcome == "succeeded" && kept.toDigest == "sha256:aa" && kept.configVersion == 1)
        #expect(kept.phases.map(\.phase) == ["started"])
        #expect(kept.bake == nil)
        let app = try #require(try database.app(named: "web"))
        #expect(app.bakeSeconds == 0 && app.bakeMaxServerErrorPercent == 1 && app.bakeMaxP99Factor == 2)

        // A new deployment continues the ids, may be rolled back and carries its bake report.
        let repository = DeploymentRepository(database: database)
        let id = try await repository.begin(app: "web", from: "sha256:aa", to: "sha256:bb", fromConfig: 1, toConfig: 1, at: Date())
        #expect(id == 2)
        var report = BakeReport(result: "rolled_back", windowSeconds: 30, afterSeconds: 1.5, maxServerErrorPercent: 1, maxP99Factor: 2)
        report.trigger = "5xx"
        report.green = TrafficFigures(seconds: 2, responses: 100, serverErrors: 40, p99Milliseconds: 3)
        try await repository.recordBake(report, deployment: id)
        try await repository.finish(deployment: id, outcome: .rolledBack, reason: "rolled back", at: Date())
        let rolledBack = try #require(try database.deployment(id: id))
        #expect(rolledBack.outcome == "rolled_back")
        #expect(rolledBack.bake?.trigger == "5xx")
        #expect(rolledBack.bake?.green?.serverErrors == 40)
        let refused = #expect(throws: (any Error).self) {
            try database.pool.write { db in try db.execute(sql: "UPDATE deployments SET outcome = 'vanished'") }
        }
        #expect(refused != nil, "the outcome check survived the rebuild")
        // Deleting the deployment still deletes its phases: the foreign key points at the new table.
        try await database.pool.write { db in
            try db.execute(sql: "DELETE FROM deployments WHERE id = 1")
        }
        let phases = try await database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM deployment_phases WHERE deployment_id = 1") }
        #expect(phases == 0)
    }
}
