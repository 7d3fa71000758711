import BatonOS
import Foundation
import GRDB

/// The daemon's state in SQLite ($BATON_ROOT/state.db, WAL). Every change is one transaction;
/// the schema only moves forward through numbered migrations, so a database from any earlier
/// version opens and upgrades.
public final class StateDatabase: Sendable {
    let pool: DatabasePool

    /// Opens (creating if needed) and migrates the database at `path`.
    public init(path: String) throws {
        // App environments live here: the file and its WAL and shared-memory companions (which
        // SQLite creates with the database file's mode) are 0600 from the first byte.
        let created = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if created >= 0 { close(created) }
        for file in [path, path + "-wal", path + "-shm"] { chmod(file, 0o600) }
        do {
            var configuration = Configuration()
            configuration.foreignKeysEnabled = true
            configuration.busyMode = .timeout(5)
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
        } catch {
            throw BatonError(.corrupt, "cannot open state database \(path): \(error)", cause: StateError(error))
        }
    }

    /// Migrations, oldest first. Never edit one that has shipped: add the next.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: apps and hosts") { db in
            try db.execute(sql: """
                CREATE TABLE apps (
                    name TEXT PRIMARY KEY NOT NULL,
                    kind TEXT NOT NULL CHECK (kind IN ('upstream', 'sandbox')),
                    upstream TEXT,
                    port INTEGER,
                    health_path TEXT,
                    health_status INTEGER NOT NULL,
                    health_timeout REAL NOT NULL,
                    drain_timeout REAL NOT NULL,
                    memory INTEGER,
                    pids INTEGER,
                    env TEXT NOT NULL DEFAULT '[]',
                    created_at TEXT NOT NULL
                );
                CREATE TABLE app_hosts (
                    host TEXT PRIMARY KEY NOT NULL,
                    app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE
                );
                CREATE INDEX app_hosts_app ON app_hosts(app);
                """)
        }
        migrator.registerMigration("v2: sandboxes and deployments") { db in
            try db.execute(sql: """
                ALTER TABLE apps ADD COLUMN serving_sandbox TEXT;
                CREATE TABLE sandboxes (
                    id TEXT PRIMARY KEY NOT NULL,
                    app TEXT NOT NULL,
                    digest TEXT NOT NULL,
                    artifact TEXT,
                    port INTEGER NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('running', 'exited', 'stopped', 'lost')),
                    pid INTEGER,
                    start_time INTEGER,
                    exit_status INTEGER,
                    created_at TEXT NOT NULL,
                    ended_at TEXT
                );
                CREATE INDEX sandboxes_app ON sandboxes(app);
                CREATE TABLE deployments (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    app TEXT NOT NULL,
                    from_digest TEXT,
                    to_digest TEXT NOT NULL,
                    outcome TEXT NOT NULL CHECK (outcome IN ('running', 'succeeded', 'failed', 'interrupted')),
                    reason TEXT,
                    started_at TEXT NOT NULL,
                    finished_at TEXT
                );
                CREATE INDEX deployments_app ON deployments(app);
                CREATE TABLE deployment_phases (
                    deployment_id INTEGER NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
                    phase TEXT NOT NULL,
                    completed_at TEXT NOT NULL,
                    seconds REAL NOT NULL,
                    detail TEXT
                );
                """)
        }
        migrator.registerMigration("v3: previews") { db in
            try db.execute(sql: """
                ALTER TABLE apps ADD COLUMN preview INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE apps ADD COLUMN expires_at TEXT;
                """)
        }
        migrator.registerMigration("v4: app configuration", migrate: ConfigVersions.migrate)
        migrator.registerMigration("v5: volumes and strategy") { db in
            // sandboxes.volumes: the volume directories a sandbox binds ("APP/NAME",
            // "shared/NAME"), recorded with it so a volume in use is never removed.
            try db.execute(sql: """
                ALTER TABLE apps ADD COLUMN volumes TEXT NOT NULL DEFAULT '[]';
                ALTER TABLE apps ADD COLUMN strategy TEXT NOT NULL DEFAULT 'blue-green';
                ALTER TABLE apps ADD COLUMN hold_timeout REAL NOT NULL DEFAULT 30;
                ALTER TABLE sandboxes ADD COLUMN volumes TEXT NOT NULL DEFAULT '[]';
                """)
        }
        migrator.registerMigration("v6: app networks") { db in
            // Sandbox apps made before networking had only loopback: they keep it.
            try db.execute(sql: """
                CREATE TABLE app_networks (
                    app TEXT PRIMARY KEY NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
                    mode TEXT NOT NULL CHECK (mode IN ('egress', 'none')),
                    egress_allow TEXT NOT NULL DEFAULT '[]'
                );
                INSERT INTO app_networks (app, mode) SELECT name, 'none' FROM apps WHERE kind = 'sandbox';
                """)
        }
        migrator.registerMigration("v7: proxy settings", migrate: Self.migrateProxySettings)
        migrator.registerMigration("v8: smoke checks", migrate: Self.migrateSmokeChecks)
        migrator.registerMigration("v9: verify reports", migrate: Self.migrateVerifyReports)
        migrator.registerMigration("v10: bake window", migrate: Self.migrateBakeWindow)
        migrator.registerMigration("v11: long-lived connections", migrate: Self.migrateLongLived)
        migrator.registerMigration("v12: replicas", migrate: Self.migrateReplicas)
        return migrator
    }

    /// The identifiers of the migrations applied, oldest first.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try Self.migrator.appliedIdentifiers(db).sorted() }
    }
}

/// Wraps GRDB's errors (which are Sendable) as a cause.
struct StateError: Error, Sendable, CustomStringConvertible {
    let description: String
    init(_ error: any Error) { description = String(describing: error) }
}
