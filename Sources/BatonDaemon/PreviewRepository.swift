import BatonControl
import BatonOS
import Foundation
import GRDB

/// A preview as stored: an app row marked `preview`, with an optional expiry.
struct PreviewRow: Sendable, Equatable {
    var name: String
    var expiresAt: String?
}

/// Which apps are previews and when they expire, in the state database.
extension StateDatabase {
    /// Marks app `name` as a preview expiring at `expiresAt` (nil: never).
    func markPreview(_ name: String, expiresAt: String?) throws {
        try write { db in
            try db.execute(sql: "UPDATE apps SET preview = 1, expires_at = ? WHERE name = ?", arguments: [expiresAt, name])
        }
    }

    /// The preview named `name`, nil when there is no app of that name or it is not a preview.
    func preview(named name: String) throws -> PreviewRow? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT name, expires_at FROM apps WHERE name = ? AND preview = 1", arguments: [name])
                .map { PreviewRow(name: $0["name"], expiresAt: $0["expires_at"]) }
        }
    }

    func previews() throws -> [PreviewRow] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT name, expires_at FROM apps WHERE preview = 1 ORDER BY name")
                .map { PreviewRow(name: $0["name"], expiresAt: $0["expires_at"]) }
        }
    }

    /// Previews whose expiry is at or before `now`.
    func expiredPreviews(at now: Date) throws -> [String] {
        try previews().filter { row in
            guard let text = row.expiresAt, let expiry = Timestamp.date(text) else { return false }
            return expiry <= now
        }.map(\.name)
    }
}
