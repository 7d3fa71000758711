import BatonControl
import Foundation
import GRDB

/// An app's volumes and deploy strategy in the state database (columns of `apps`, migration
/// v5), and which volumes the running sandboxes bind.
extension StateDatabase {
    /// Writes the volumes, strategy and hold timeout of a validated spec, in the transaction
    /// that creates or updates the app.
    static func writeVolumesAndStrategy(_ db: Database, _ spec: AppSpec) throws {
        try db.execute(
            sql: "UPDATE apps SET volumes = ?, strategy = ?, hold_timeout = ? WHERE name = ?",
            arguments: [try jsonText(spec.volumes), (spec.strategy ?? .blueGreen).rawValue,
                        spec.holdTimeout ?? AppSpec.defaultHoldTimeout, spec.name])
    }

    /// Fills in what `writeVolumesAndStrategy` stored.
    static func readVolumesAndStrategy(_ row: Row, into app: inout AppInfo) {
        app.volumes = jsonValue([AppVolume].self, row["volumes"]) ?? []
        app.strategy = DeployStrategy(rawValue: row["strategy"]) ?? .blueGreen
        app.holdTimeout = row["hold_timeout"]
    }

    /// The volumes running sandboxes bind, by their place under `volumes/`, each with one
    /// sandbox that binds it.
    func volumesInUse() throws -> [String: String] {
        try read { db in
            var users: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, volumes FROM sandboxes WHERE state = 'running' ORDER BY id") {
                for key in Self.jsonValue([String].self, row["volumes"]) ?? [] where users[key] == nil {
                    users[key] = row["id"]
                }
            }
            return users
        }
    }

    static func jsonText<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }

    static func jsonValue<T: Decodable>(_ type: T.Type, _ text: String?) -> T? {
        text.flatMap { try? JSONDecoder().decode(type, from: Data($0.utf8)) }
    }
}
