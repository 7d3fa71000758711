import BatonControl
import BatonOS
import Foundation
import GRDB

/// Versions of each app's configuration in the state database: immutable rows of
/// `app_configs`, numbered per app from 1. A sandbox row names the version it started with, a
/// deployment the versions it went from and to. The app's own columns (port, health, limits,
/// env) mirror the version it is at (`apps.config_version`), so whatever reads an app sees its
/// current configuration; secret values are only ever in `app_configs.secrets`.
enum ConfigVersions {
    static func migrate(_ db: Database) throws {
        // What apps, sandboxes and deployments had before versions existed is version 1.
        try db.execute(sql: """
            CREATE TABLE app_configs (
                app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
                version INTEGER NOT NULL,
                port INTEGER,
                health_path TEXT,
                health_status INTEGER NOT NULL,
                health_timeout REAL NOT NULL,
                drain_timeout REAL NOT NULL,
                memory INTEGER,
                pids INTEGER,
                cpus REAL,
                env TEXT NOT NULL DEFAULT '[]',
                secrets TEXT NOT NULL DEFAULT '[]',
                created_at TEXT NOT NULL,
                PRIMARY KEY (app, version)
            );
            ALTER TABLE apps ADD COLUMN cpus REAL;
            ALTER TABLE apps ADD COLUMN config_version INTEGER;
            ALTER TABLE sandboxes ADD COLUMN config_version INTEGER;
            ALTER TABLE deployments ADD COLUMN from_config_version INTEGER;
            ALTER TABLE deployments ADD COLUMN config_version INTEGER;
            INSERT INTO app_configs (app, version, port, health_path, health_status, health_timeout, drain_timeout,
                                     memory, pids, env, created_at)
                SELECT name, 1, port, health_path, health_status, health_timeout, drain_timeout, memory, pids, env, created_at
                FROM apps;
            UPDATE apps SET config_version = 1;
            UPDATE sandboxes SET config_version = 1;
            UPDATE deployments SET config_version = 1, from_config_version = CASE WHEN from_digest IS NULL THEN NULL ELSE 1 END;
            """)
    }

    /// Stores `config` as the next version of `app` and returns its number.
    static func insert(_ db: Database, app: String, config: AppConfig) throws -> Int64 {
        let version = (try Int64.fetchOne(db, sql: "SELECT MAX(version) FROM app_configs WHERE app = ?", arguments: [app]) ?? 0) + 1
        try db.execute(
            sql: """
                INSERT INTO app_configs (app, version, port, health_path, health_status, health_timeout, drain_timeout,
                                         memory, pids, cpus, env, secrets, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [app, version, config.port, config.healthPath, config.healthStatus, config.healthTimeout,
                        config.drainTimeout, config.memory, config.pids, config.cpus, try json(config.env),
                        try json(config.secrets), Timestamp.now()])
        return version
    }

    /// Makes version `version` the app's current configuration: mirrored into its row.
    static func makeCurrent(_ db: Database, app: String, version: Int64) throws {
        guard let config = try fetch(db, app: app, version: version) else {
            throw BatonError(.internal, "configuration \(version) of \(app) is not in the state database")
        }
        try db.execute(
            sql: """
                UPDATE apps SET config_version = ?, port = ?, health_path = ?, health_status = ?, health_timeout = ?,
                                drain_timeout = ?, memory = ?, pids = ?, cpus = ?, env = ?
                WHERE name = ?
                """,
            arguments: [version, config.port, config.healthPath, config.healthStatus, config.healthTimeout, config.drainTimeout,
                        config.memory, config.pids, config.cpus, try json(config.env), app])
    }

    /// The route now goes to sandbox `id`: the configuration it started with is the app's.
    static func followServing(_ db: Database, app: String, sandbox id: String) throws {
        guard let version = try Int64.fetchOne(db, sql: "SELECT config_version FROM sandboxes WHERE id = ?", arguments: [id]) else {
            return
        }
        try makeCurrent(db, app: app, version: version)
    }

    /// Version `version` of `app`'s configuration, secret values included.
    static func fetch(_ db: Database, app: String, version: Int64) throws -> AppConfig? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM app_configs WHERE app = ? AND version = ?", arguments: [app, version]) else {
            return nil
        }
        return AppConfig(port: row["port"], healthPath: row["health_path"], healthStatus: row["health_status"],
                         healthTimeout: row["health_timeout"], drainTimeout: row["drain_timeout"], memory: row["memory"],
                         pids: row["pids"], cpus: row["cpus"], env: strings(row["env"]), secrets: strings(row["secrets"]))
    }

    /// KEY=<secret> for each secret of the version: what may be shown of them.
    static func maskedSecrets(_ db: Database, app: String, version: Int64?) throws -> [String] {
        guard let version, let config = try fetch(db, app: app, version: version) else { return [] }
        return config.masked.secrets
    }

    private static func json(_ entries: [String]) throws -> String {
        String(decoding: try JSONEncoder().encode(entries), as: UTF8.self)
    }

    private static func strings(_ text: String) -> [String] {
        (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }
}

extension StateDatabase {
    /// Stores `config` as the next version of `app` (not yet its current one).
    func insertConfig(app: String, _ config: AppConfig) throws -> Int64 {
        try write { db in try ConfigVersions.insert(db, app: app, config: config) }
    }

    /// Stores `config` as the next version of `app` and makes it the app's current one.
    func storeCurrentConfig(app: String, _ config: AppConfig) throws -> Int64 {
        try write { db in
            let version = try ConfigVersions.insert(db, app: app, config: config)
            try ConfigVersions.makeCurrent(db, app: app, version: version)
            return version
        }
    }

    /// Makes version `version` (if any) the current configuration of `app`.
    func makeCurrentConfig(app: String, version: Int64?) throws {
        guard let version else { return }
        try write { db in try ConfigVersions.makeCurrent(db, app: app, version: version) }
    }

    /// Version `version` of `app`'s configuration, or its current one when nil; secret values included.
    func config(app: String, version: Int64?) throws -> (version: Int64?, config: AppConfig) {
        try read { db in
            let chosen = try version ?? Int64.fetchOne(db, sql: "SELECT config_version FROM apps WHERE name = ?", arguments: [app])
            guard let chosen else { throw ControlService.noSuchApp(app) }
            guard let config = try ConfigVersions.fetch(db, app: app, version: chosen) else {
                throw BatonError(.notFound, "app \(app) has no configuration \(chosen): see 'baton history \(app)'")
            }
            return (chosen, config)
        }
    }
}
