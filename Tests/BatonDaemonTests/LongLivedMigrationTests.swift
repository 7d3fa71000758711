import BatonControl
@testable import BatonDaemon
import Foundation
import GRDB
import Testing

/// A database from before v11: its apps get the drain timeout for long-lived connections, its
/// deployments no counts; a count stored after the migration reads back.
@Suite struct LongLivedMigrationTests {
    @Test func appsAndDeploymentsFromBeforeTheMigrationGetNoLongLivedSettingsOrCounts() async throws {
        let old = try OldStateDatabase(upTo: "v7: proxy settings")
        defer { old.remove() }
        try await old.queue.write { db in
            try db.execute(sql: """
                INSERT INTO apps (name, kind, upstream, health_status, health_timeout, drain_timeout, env, created_at)
                VALUES ('legacy', 'upstream', '127.0.0.1:9', 200, 30, 30, '[]', '2026-01-01T00:00:00Z');
                INSERT INTO deployments (app, to_digest, outcome, started_at) VALUES ('legacy', 'sha256:aa', 'succeeded', '2026-01-01T00:00:00Z');
                """)
        }
        try old.queue.close()
        let database = try StateDatabase(path: old.path)
        #expect(try database.app(named: "legacy")?.drainLongTimeout == nil)
        let deployment = try #require(try database.deployments(app: "legacy").first)
        #expect(deployment.longLived == nil)

        let repository = DeploymentRepository(database: database)
        try await repository.storeLongLived(.init(open: 7, closedByClient: 2, closedByApp: 1, closedByBaton: 4), deployment: deployment.id)
        #expect(try database.deployment(id: deployment.id)?.longLived == LongLivedInfo(open: 7, closedByClient: 2, closedByApp: 1, closedByBaton: 4))
        #expect(try await repository.history(app: "legacy").first?.longLived?.closedByBaton == 4)
    }
}
