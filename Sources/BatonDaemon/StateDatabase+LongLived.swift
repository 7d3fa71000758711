import BatonControl
import BatonDeploy
import GRDB

/// longlived: an app's long drain timeout (a column of `apps`, the app's own setting like the
/// proxy's, NULL: the drain timeout) and each deployment's count of blue's long-lived
/// connections (columns of `deployments`, NULL when none were open).
extension StateDatabase {
    static func migrateLongLived(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE apps ADD COLUMN drain_long_timeout REAL;
            ALTER TABLE deployments ADD COLUMN long_lived_open INTEGER;
            ALTER TABLE deployments ADD COLUMN long_lived_closed_by_client INTEGER;
            ALTER TABLE deployments ADD COLUMN long_lived_closed_by_app INTEGER;
            ALTER TABLE deployments ADD COLUMN long_lived_closed_by_baton INTEGER;
            """)
    }

    /// Writes the long drain timeout of a validated spec, in the transaction that creates or
    /// updates the app.
    static func writeLongLivedSettings(_ db: Database, _ spec: AppSpec) throws {
        try db.execute(sql: "UPDATE apps SET drain_long_timeout = ? WHERE name = ?", arguments: [spec.drainLongTimeout, spec.name])
    }

    static func readLongLivedSettings(_ row: Row, into app: inout AppInfo) {
        app.drainLongTimeout = row["drain_long_timeout"]
    }

    static func readLongLived(_ row: Row) -> LongLivedInfo? {
        guard let open: Int = row["long_lived_open"] else { return nil }
        return LongLivedInfo(open: open, closedByClient: row["long_lived_closed_by_client"] ?? 0,
                             closedByApp: row["long_lived_closed_by_app"] ?? 0, closedByBaton: row["long_lived_closed_by_baton"] ?? 0)
    }
}

extension DeploymentRepository: LongLivedRecorder {
    func storeLongLived(_ counts: LongLivedCounts, deployment id: Int64) async throws {
        try database.write { db in
            try db.execute(
                sql: """
                    UPDATE deployments SET long_lived_open = ?, long_lived_closed_by_client = ?, long_lived_closed_by_app = ?,
                        long_lived_closed_by_baton = ? WHERE id = ?
                    """,
                arguments: [counts.open, counts.closedByClient, counts.closedByApp, counts.closedByBaton, id])
        }
    }
}
