import BatonControl
import BatonOS
@testable import BatonDaemon
import Foundation
import Glibc
import Logging
import Testing

/// A sandbox that runs must have a record: recovery after a restart and `baton ps` only know
/// sandboxes by their rows.
@Suite(.serialized, .enabled(if: geteuid() == 0, "requires root"))
struct SandboxRecordFailureTests {
    /// The database refuses the new sandbox's row (a full disk, a broken file): the sandbox
    /// just launched is stopped and removed, not left running where nothing would find it.
    @Test func aLaunchedSandboxWhoseRecordIsRefusedIsStoppedAndRemoved() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("baton-record-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { TestNetwork.remove(root: root); try? FileManager.default.removeItem(atPath: root) }
        TestProcessLifetime.register(root: root)
        try await offThePool {
            try DeployFixture.publishBase(root: root)
            try DeployFixture.publishSite("1", root: root)
        }
        let database = try StateDatabase(path: root + "/state.db")
        _ = try database.createApp(AppSpec(name: "web", hosts: ["web.test"]))
        try database.write { db in
            try db.execute(sql: "CREATE TRIGGER refuse_sandboxes BEFORE INSERT ON sandboxes BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        }
        let runtime = SandboxRuntimeService(root: root, database: database, network: SandboxNetworkService(root: root, bridge: nil, subnet: nil),
                                            logger: Logger(label: "test"))

        let error = await #expect(throws: BatonError.self) { try await runtime.start(app: "web", digest: "site:1", configVersion: nil) }
        let message = error?.message ?? ""
        #expect(message.contains("so it was stopped"), "\(message)")
        let id = try #require(message.split(separator: " ").first { $0.hasPrefix("web-") }.map(String.init))
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: root + "/sandboxes")) ?? []).isEmpty)
        for controller in ["pids", "memory", "cpu", "unified"] {
            #expect(!FileManager.default.fileExists(atPath: "/sys/fs/cgroup/\(controller)/baton/\(id)"), "\(controller) cgroup of \(id) left")
        }
        #expect(runtime.live(id: id) == nil)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: RuntimeDirectory.path(root: root) + "/leases")) ?? []).isEmpty, "its address went back")
    }
}
