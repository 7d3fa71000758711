import BatonControl
import BatonDeploy
import BatonOS
import Foundation
import GRDB

/// Bake windows in the state database (migration v10): the outcome `rolled_back`, and each
/// deployment's bake report as JSON.
extension StateDatabase {
    /// SQLite cannot alter a CHECK: the deployments table is rebuilt from its own definition
    /// (whatever columns earlier migrations added) with `rolled_back` allowed, then gets the
    /// `bake` column. Migrations run with foreign keys off, so the phases stay.
    static func migrateBakeWindow(_ db: Database) throws {
        guard let definition = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'deployments'") else {
            throw BatonError(.corrupt, "the state database has no deployments table")
        }
        let oldCheck = "'running', 'succeeded', 'failed', 'interrupted')"
        guard let range = definition.range(of: oldCheck) else {
            throw BatonError(.corrupt, "the deployments table's outcome check is not the one v2 made")
        }
        let rebuilt = definition.replacingCharacters(in: range, with: "'running', 'succeeded', 'failed', 'interrupted', 'rolled_back')")
            .replacingOccurrences(of: "CREATE TABLE deployments", with: "CREATE TABLE deployments_rebuilt")
        try db.execute(sql: rebuilt)
        try db.execute(sql: """
            INSERT INTO deployments_rebuilt SELECT * FROM deployments;
            DROP TABLE deployments;
            ALTER TABLE deployments_rebuilt RENAME TO deployments;
            CREATE INDEX IF NOT EXISTS deployments_app ON deployments(app);
            ALTER TABLE deployments ADD COLUMN bake TEXT;
            ALTER TABLE apps ADD COLUMN bake_seconds REAL NOT NULL DEFAULT 0;
            ALTER TABLE apps ADD COLUMN bake_max_5xx REAL NOT NULL DEFAULT 1;
            ALTER TABLE apps ADD COLUMN bake_max_p99 REAL NOT NULL DEFAULT 2;
            """)
    }

    /// Writes the bake settings of a validated spec, in the transaction that creates or updates the app.
    static func writeBakeSettings(_ db: Database, _ spec: AppSpec) throws {
        let bake = spec.storedBakeSettings
        try db.execute(sql: "UPDATE apps SET bake_seconds = ?, bake_max_5xx = ?, bake_max_p99 = ? WHERE name = ?",
                       arguments: [bake.seconds, bake.maxServerErrorPercent, bake.maxP99Factor, spec.name])
    }

    static func readBakeSettings(_ row: Row, into app: inout AppInfo) {
        app.bakeSeconds = (row["bake_seconds"] as Double?) ?? 0
        app.bakeMaxServerErrorPercent = (row["bake_max_5xx"] as Double?) ?? BakeSettings.defaultMaxServerErrorPercent
        app.bakeMaxP99Factor = (row["bake_max_p99"] as Double?) ?? BakeSettings.defaultMaxP99Factor
    }

    /// Stores deployment `id`'s bake report.
    func recordBake(_ report: BakeReport, deployment id: Int64) throws {
        let text = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        try write { db in
            try db.execute(sql: "UPDATE deployments SET bake = ? WHERE id = ?", arguments: [text, id])
        }
    }

    /// The bake report a deployments row holds, as the API shows it.
    static func readBake(_ row: Row) -> BakeInfo? {
        guard let text = row["bake"] as String? else { return nil }
        return try? JSONDecoder().decode(BakeInfo.self, from: Data(text.utf8))
    }
}
