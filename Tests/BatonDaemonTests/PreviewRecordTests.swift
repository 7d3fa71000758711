import BatonControl
import BatonOS
@testable import BatonDaemon
import Foundation
import Testing

/// A preview is an app and its preview mark; both are written in one transaction.
@Suite struct PreviewRecordTests {
    @Test func aPreviewIsStoredAsOneWrite() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("baton-preview-db-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let database = try StateDatabase(path: root + "/state.db")

        let preview = try database.createApp(AppSpec(name: "pr-1", hosts: ["pr-1.preview.localhost"]), preview: true)
        #expect(preview.preview)
        #expect(try database.preview(named: "pr-1")?.expiresAt == nil)
        let plain = try database.createApp(AppSpec(name: "web", hosts: ["web.test"]))
        #expect(!plain.preview)
        #expect(try database.previews().map(\.name) == ["pr-1"])

        // A refused create writes neither the app nor the mark.
        #expect(throws: BatonError.self) {
            try database.createApp(AppSpec(name: "pr-2", hosts: ["web.test"]), preview: true)
        }
        #expect(try database.app(named: "pr-2") == nil)
        #expect(try database.previews().map(\.name) == ["pr-1"])
    }
}
