@testable import BatonDaemon
import Foundation
import GRDB

/// A state database in a fresh temporary root, migrated only up to `version`: what an older
/// daemon left behind. A migration test fills it through `queue`, closes it, then opens `path`
/// with today's `StateDatabase`; `remove()` deletes the root.
struct OldStateDatabase {
    let root: String
    let queue: DatabaseQueue
    var path: String { root + "/state.db" }

    init(upTo version: String) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("baton-old-db-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        queue = try DatabaseQueue(path: root + "/state.db")
        try StateDatabase.migrator.migrate(queue, upTo: version)
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}
