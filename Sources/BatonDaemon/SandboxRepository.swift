import BatonControl
import BatonOS
import Foundation
import GRDB

/// A sandbox row: what the daemon started, for which app and bytes, and how it ended.
struct SandboxRow: Sendable, Equatable {
    var id: String
    var app: String
    var digest: String
    var artifact: String?
    /// The port the app listens on inside (the app's, else the artifact's).
    var port: Int
    var state: String
    var pid: Int32?
    var startTime: UInt64?
    var createdAt: String
    /// The volumes it binds, by their place under `volumes/` ("APP/NAME", "shared/NAME").
    var volumes: [String] = []
    /// The version of the app's configuration it started with.
    var configVersion: Int64? = nil
    /// How an exited sandbox ended: its status (128+N for signal N) and the signal that
    /// killed its init, if one did.
    var exitStatus: Int32? = nil
    var exitSignal: Int32? = nil
    /// Replicas part: the first sandbox of its group (the one the app's serving pointer
    /// names) when it is another replica of that group; nil for a group's first.
    var replicaOf: String? = nil
}

/// Sandboxes and which one serves each app, in the state database.
extension StateDatabase {
    func insertSandbox(_ row: SandboxRow) throws {
        try write { db in
            try db.execute(
                sql: """
                    INSERT INTO sandboxes (id, app, digest, artifact, port, state, pid, start_time, created_at, volumes,
                                           config_version, replica_of)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [row.id, row.app, row.digest, row.artifact, row.port, row.state, row.pid,
                            row.startTime.map { Int64($0) }, row.createdAt, try Self.jsonText(row.volumes), row.configVersion,
                            row.replicaOf])
        }
    }

    /// Marks a sandbox ended ('exited', 'stopped' or 'lost').
    func endSandbox(id: String, state: String, exitStatus: Int32?, exitSignal: Int32? = nil) throws {
        try write { db in
            try db.execute(
                sql: "UPDATE sandboxes SET state = ?, exit_status = ?, exit_signal = ?, ended_at = ? WHERE id = ? AND state = 'running'",
                arguments: [state, exitStatus, exitSignal, Timestamp.now(), id])
        }
    }

    /// Forgets the ended sandboxes of `app` beyond the newest `keep` (never one an app serves)
    /// and returns their ids: the caller removes their log directories.
    func pruneEndedSandboxes(app: String, keep: Int) throws -> [String] {
        try write { db in
            let ids = try String.fetchAll(db, sql: """
                SELECT id FROM sandboxes
                WHERE app = ? AND state != 'running'
                  AND id NOT IN (SELECT serving_sandbox FROM apps WHERE serving_sandbox IS NOT NULL)
                ORDER BY COALESCE(ended_at, created_at) DESC, id DESC
                LIMIT -1 OFFSET ?
                """, arguments: [app, keep])
            for id in ids { try db.execute(sql: "DELETE FROM sandboxes WHERE id = ?", arguments: [id]) }
            return ids
        }
    }

    func sandboxes(includeEnded: Bool) throws -> [SandboxRow] {
        try read { db in
            let sql = "SELECT * FROM sandboxes" + (includeEnded ? "" : " WHERE state = 'running'") + " ORDER BY created_at, id"
            return try Row.fetchAll(db, sql: sql).map(Self.sandboxRow)
        }
    }

    func sandbox(id: String) throws -> SandboxRow? {
        try read { db in try Row.fetchOne(db, sql: "SELECT * FROM sandboxes WHERE id = ?", arguments: [id]).map(Self.sandboxRow) }
    }

    /// The sandbox the proxy sends `app`'s traffic to, if any.
    func servingSandbox(app: String) throws -> SandboxRow? {
        try read { db in
            try Row.fetchOne(db, sql: """
                SELECT sandboxes.* FROM apps JOIN sandboxes ON sandboxes.id = apps.serving_sandbox
                WHERE apps.name = ?
                """, arguments: [app]).map(Self.sandboxRow)
        }
    }

    /// Points `app` at sandbox `id` (nil: nothing serves it); the configuration that sandbox
    /// started with becomes the app's, in the same transaction.
    func setServing(app: String, sandbox id: String?) throws {
        try write { db in
            try db.execute(sql: "UPDATE apps SET serving_sandbox = ? WHERE name = ?", arguments: [id, app])
            if db.changesCount == 0 { throw BatonError(.notFound, "no app named \(app): see 'baton app ls'") }
            if let id { try ConfigVersions.followServing(db, app: app, sandbox: id) }
        }
    }

    static func sandboxRow(_ row: Row) -> SandboxRow {
        SandboxRow(id: row["id"], app: row["app"], digest: row["digest"], artifact: row["artifact"], port: row["port"], state: row["state"],
                   pid: row["pid"], startTime: (row["start_time"] as Int64?).map { UInt64($0) }, createdAt: row["created_at"],
                   volumes: jsonValue([String].self, row["volumes"]) ?? [], configVersion: row["config_version"],
                   exitStatus: row["exit_status"], exitSignal: row["exit_signal"], replicaOf: row["replica_of"])
    }
}
