import Foundation
import Glibc
import Testing

/// A daemon killed with -9 just after a sandbox's program has started, before the daemon
/// has recorded it anywhere of its own: the sandbox's record (written before its program may
/// run) lets the next daemon find it, and it is stopped, not left running unaccounted for.
@Suite(.serialized, .enabled(if: geteuid() == 0, "requires root"))
struct OrphanWindowTests {
    @Test func aSandboxStartedJustBeforeTheDaemonDiedIsStoppedByTheNext() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("baton-orphan-\(UUID().uuidString.prefix(8))").path
        defer { TestNetwork.remove(root: root); try? FileManager.default.removeItem(atPath: root) }
        try DeployFixture.publishBase(root: root)
        try DeployFixture.publishSite("1", root: root)

        let doomed = try DaemonProcess(root: root, environment: ["BATON_TEST_FAULT": "sandbox-started"])
        defer { try? FileManager.default.removeItem(atPath: doomed.logPath) }
        try DeployFixture.baton(["app", "create", "web", "--host", "web.test"], root: root)
        let deploy = try DeployFixture.baton(["deploy", "web", "site:1"], root: root, allowFailure: true)
        #expect(deploy.status != 0, "the daemon died mid-deploy")
        doomed.process.waitUntilExit()
        #expect(doomed.process.terminationReason == .uncaughtSignal, "the fault point killed the daemon")

        // The sandbox outlived it, with its record on disk and no row in the daemon's database.
        let ids = try FileManager.default.contentsOfDirectory(atPath: root + "/sandboxes")
        let id = try #require(ids.first, "the launched sandbox left its directory")
        let record = try String(contentsOfFile: "\(root)/sandboxes/\(id)/sandbox.json", encoding: .utf8)
        let pid = try #require(Self.initPID(record))
        #expect(kill(pid, 0) == 0, "the sandbox's init still runs")
        // Whatever happens below, no sandbox of this test outlives it.
        defer {
            if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
            usleep(100_000)
            for hierarchy in ["memory", "pids", "cpu", "unified", ""] {
                rmdir("/sys/fs/cgroup/\(hierarchy.isEmpty ? "" : hierarchy + "/")baton/\(id)")
            }
        }

        let next = try DaemonProcess(root: root)
        defer {
            _ = try? DeployFixture.baton(["app", "rm", "web"], root: root, allowFailure: true)
            next.stop()
        }
        let deadline = Date().addingTimeInterval(15)
        while kill(pid, 0) == 0 && Date() < deadline { usleep(20_000) }
        #expect(kill(pid, 0) != 0, "the next daemon stopped the sandbox it could not account for")
        #expect(!FileManager.default.fileExists(atPath: "\(root)/sandboxes/\(id)"))
        #expect(next.log.contains("stopped stray sandbox \(id)"), "\(next.log)")
    }

    static func initPID(_ record: String) -> Int32? {
        guard let data = record.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let process = object["init_process"] as? [String: Any] else { return nil }
        return (process["pid"] as? Int).map(Int32.init)
    }
}
