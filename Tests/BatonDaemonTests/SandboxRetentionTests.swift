import BatonControl
@testable import BatonDaemon
import Foundation
import Glibc
import Testing

/// Ended sandboxes keep their record and log for a while, not forever: the newest
/// `--log-retain` (`SandboxRuntimeService.logRetain`) per app, and none once the app is removed.
@Suite struct SandboxRetentionTests {
    @Test func onlyTheNewestEndedSandboxesOfAnAppAreKept() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("baton-retention-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { TestNetwork.remove(root: root); try? FileManager.default.removeItem(atPath: root) }
        let database = try StateDatabase(path: root + "/state.db")
        _ = try database.createApp(AppSpec(name: "web", hosts: ["web.test"]))
        func insert(_ id: String, app: String) throws {
            try database.insertSandbox(SandboxRow(id: id, app: app, digest: "sha256:00", artifact: nil, port: 80, state: "running",
                                                  pid: nil, startTime: nil, createdAt: Timestamp.now()))
        }
        for index in 1...13 {
            let id = String(format: "web-%02d", index)
            try insert(id, app: "web")
            try database.endSandbox(id: id, state: "exited", exitStatus: 0)
        }
        try insert("web-live", app: "web")
        try insert("other-01", app: "other")
        try database.endSandbox(id: "other-01", state: "stopped", exitStatus: nil)

        #expect(try database.pruneEndedSandboxes(app: "web", keep: 10) == ["web-03", "web-02", "web-01"])
        let left = try database.sandboxes(includeEnded: true).map(\.id)
        #expect(left.filter { $0.hasPrefix("web-") }.sorted() == (4...13).map { String(format: "web-%02d", $0) } + ["web-live"])
        #expect(left.contains("other-01"), "another app's sandboxes are not touched")
        #expect(try database.pruneEndedSandboxes(app: "web", keep: 10).isEmpty, "pruning twice removes nothing more")
        #expect(try database.pruneEndedSandboxes(app: "web", keep: 0).count == 10)
        #expect(try database.sandboxes(includeEnded: true).map(\.id).sorted() == ["other-01", "web-live"], "a running sandbox stays")
    }
}

/// The same through a real daemon: removing an app removes its sandboxes' logs.
@Suite(.serialized, .enabled(if: geteuid() == 0, "requires root"))
struct SandboxLogRetentionTests {
    @Test func removingAnAppRemovesItsSandboxesLogsAndRecords() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        try fixture.publishSite("2")
        try fixture.baton(["deploy", "web", "site:1"])
        try fixture.baton(["deploy", "web", "site:2"])
        let all = try JSONSerialization.jsonObject(with: Data(try fixture.baton(["ps", "--all", "--json"]).stdout.utf8)) as? [[String: Any]] ?? []
        let ids = all.compactMap { $0["id"] as? String }
        #expect(ids.count == 2, "the swapped-out sandbox is listed until the app goes: \(ids)")
        for id in ids { #expect(FileManager.default.fileExists(atPath: "\(fixture.root)/logs/\(id)/output.log")) }

        try fixture.baton(["app", "rm", "web"])
        let after = try JSONSerialization.jsonObject(with: Data(try fixture.baton(["ps", "--all", "--json"]).stdout.utf8)) as? [[String: Any]] ?? []
        #expect(after.isEmpty, "\(after)")
        for id in ids { #expect(!FileManager.default.fileExists(atPath: "\(fixture.root)/logs/\(id)")) }
    }
}
