import BatonControl
import Foundation
import GRDB
import Testing

@testable import BatonDaemon

/// A database from before v12: its deployments were all operators' deploys, its apps run one
/// replica, and the new columns take only what they mean.
@Suite struct ReplicasMigrationTests {
    @Test func deploymentsAndAppsFromBeforeTheMigrationGetTheDefaults() throws {
        let old = try OldStateDatabase(upTo: "v7: proxy settings")
        defer { old.remove() }
        try old.queue.write { db in
            try db.execute(sql: """
                INSERT INTO apps (name, kind, health_status, health_timeout, drain_timeout, env, created_at)
                VALUES ('legacy', 'sandbox', 200, 30, 30, '[]', '2026-01-01T00:00:00Z');
                INSERT INTO deployments (app, to_digest, outcome, started_at)
                VALUES ('legacy', 'sha256:00', 'succeeded', '2026-01-01T00:00:00Z');
                """)
        }
        try old.queue.close()
        let database = try StateDatabase(path: old.path)
        #expect(try database.app(named: "legacy")?.replicas == 1)
        let deployment = try #require(try database.deployments(app: "legacy").first)
        #expect(deployment.trigger == "deploy")
        #expect(deployment.triggerDetail == nil)
        for bad in ["UPDATE deployments SET trigger = 'cron'", "UPDATE apps SET replicas = 0", "UPDATE apps SET replicas = 17"] {
            let refused = #expect(throws: (any Error).self, "\(bad)") {
                try database.pool.write { db in try db.execute(sql: bad) }
            }
            #expect(refused != nil)
        }
    }
}
