import BatonControl
import Foundation
import GRDB

/// verify: each deployment's `--verify` report, stored as JSON in a column of `deployments`
/// (migration v9), read back with the deployment.
extension StateDatabase {
    static func migrateVerifyReports(_ db: Database) throws {
        try db.execute(sql: "ALTER TABLE deployments ADD COLUMN verify_report TEXT")
    }

    func setVerifyReport(_ report: VerifyReport, deployment id: Int64) throws {
        let json = String(decoding: try ControlJSON.encoder().encode(report), as: UTF8.self)
        try write { db in
            try db.execute(sql: "UPDATE deployments SET verify_report = ? WHERE id = ?", arguments: [json, id])
        }
    }

    /// The report stored in a `deployments` row; nil when none (or it cannot be read).
    static func verifyReport(_ row: Row) -> VerifyReport? {
        guard let json = row["verify_report"] as String? else { return nil }
        return try? ControlJSON.decoder().decode(VerifyReport.self, from: Data(json.utf8))
    }
}
