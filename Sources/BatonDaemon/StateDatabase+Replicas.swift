import BatonControl
import GRDB

/// Migration v12: what a crash of a serving sandbox leaves on record. A deployment says what
/// made it (`trigger`: an operator's deploy or rollback, or the daemon's restart of a sandbox
/// that died, with `trigger_detail` naming the crash); an exited sandbox keeps the signal
/// that killed it beside its shell-style status. An app runs `replicas` sandboxes at once: each
/// sandbox row names its group (`replica_of`: the id of the group's first sandbox, which the
/// app's `serving_sandbox` names), so the group is routed, drained and stopped as one.
extension StateDatabase {
    static func migrateReplicas(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE apps ADD COLUMN replicas INTEGER NOT NULL DEFAULT 1 CHECK (replicas BETWEEN 1 AND 16);
            ALTER TABLE sandboxes ADD COLUMN replica_of TEXT;
            CREATE INDEX sandboxes_replica_of ON sandboxes(replica_of);
            ALTER TABLE deployments ADD COLUMN trigger TEXT NOT NULL DEFAULT 'deploy'
                CHECK (trigger IN ('deploy', 'rollback', 'restart'));
            ALTER TABLE deployments ADD COLUMN trigger_detail TEXT;
            ALTER TABLE sandboxes ADD COLUMN exit_signal INTEGER;
            """)
    }

    /// Writes `--replicas` of a validated spec, in the transaction that creates or updates the app.
    static func writeReplicas(_ db: Database, _ spec: AppSpec) throws {
        try db.execute(sql: "UPDATE apps SET replicas = ? WHERE name = ?", arguments: [spec.storedReplicas, spec.name])
    }

    static func readReplicas(_ row: Row, into app: inout AppInfo) {
        app.replicas = row["replicas"] ?? 1
    }

    /// The running sandboxes of the group serving `app`: the one the serving pointer names (if
    /// it runs) first, then its other replicas, oldest first. Empty when none runs.
    func servingGroup(app: String) throws -> [SandboxRow] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT sandboxes.* FROM apps JOIN sandboxes
                  ON sandboxes.id = apps.serving_sandbox OR sandboxes.replica_of = apps.serving_sandbox
                WHERE apps.name = ? AND sandboxes.state = 'running'
                ORDER BY sandboxes.replica_of IS NOT NULL, sandboxes.created_at, sandboxes.id
                """, arguments: [app]).map(Self.sandboxRow)
        }
    }
}
