import BatonControl
import Foundation
import GRDB

/// Each sandbox app's network: `app_networks`, beside `apps`, one row per sandbox app
/// (none for upstream apps).
extension StateDatabase {
    static func storeNetwork(_ db: Database, _ spec: AppSpec) throws {
        guard spec.kind == .sandbox else { return }
        let allow = String(decoding: try JSONEncoder().encode(spec.egressAllow ?? []), as: UTF8.self)
        try db.execute(
            sql: """
                INSERT INTO app_networks (app, mode, egress_allow) VALUES (?, ?, ?)
                ON CONFLICT (app) DO UPDATE SET mode = excluded.mode, egress_allow = excluded.egress_allow
                """,
            arguments: [spec.name, spec.network ?? "egress", allow])
    }

    /// The app's mode and allowlist; nil for an upstream app.
    static func fetchNetwork(_ db: Database, app: String) throws -> (mode: String, egressAllow: [String])? {
        guard let row = try Row.fetchOne(db, sql: "SELECT mode, egress_allow FROM app_networks WHERE app = ?", arguments: [app]) else {
            return nil
        }
        let allow: String = row["egress_allow"]
        return (row["mode"], (try? JSONDecoder().decode([String].self, from: Data(allow.utf8))) ?? [])
    }
}
