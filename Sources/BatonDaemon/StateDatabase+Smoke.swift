import BatonControl
import Foundation
import GRDB

/// An app's smoke checks in the state database: a column of `apps` (migration v8), a JSON
/// array of checks as the grammar writes them. Like the proxy settings they are the app's own,
/// not a configuration version: changed in place, read by the next swap.
extension StateDatabase {
    static func migrateSmokeChecks(_ db: Database) throws {
        try db.execute(sql: "ALTER TABLE apps ADD COLUMN smoke_checks TEXT NOT NULL DEFAULT '[]'")
    }

    /// Writes the checks of a validated spec (nil: none), in the transaction that creates or
    /// updates the app.
    static func writeSmokeChecks(_ db: Database, _ spec: AppSpec) throws {
        let json = String(decoding: try JSONEncoder().encode(spec.smoke ?? []), as: UTF8.self)
        try db.execute(sql: "UPDATE apps SET smoke_checks = ? WHERE name = ?", arguments: [json, spec.name])
    }

    static func readSmokeChecks(_ row: Row, into app: inout AppInfo) {
        let text = (row["smoke_checks"] as String?) ?? "[]"
        app.smoke = (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }

    /// Replaces the checks of app `name` (a preview made again with `--smoke`); they are
    /// validated by the caller.
    func setSmokeChecks(app name: String, _ checks: [String]) throws {
        let json = String(decoding: try JSONEncoder().encode(checks), as: UTF8.self)
        try write { db in
            try db.execute(sql: "UPDATE apps SET smoke_checks = ? WHERE name = ?", arguments: [json, name])
        }
    }
}
