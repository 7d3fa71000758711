import Foundation
import Glibc
import Testing

/// One daemon per root: the root's lock is taken before the database is opened, recovery runs
/// or a socket is made, so a second daemon cannot touch what the first one runs.
@Suite(.serialized, .enabled(if: geteuid() == 0, "requires root"))
struct RootLockTests {
    /// A second `baton daemon` on a root whose daemon serves a live sandbox, with every flag
    /// that could let it slip past a socket check (its own socket, port and metrics port).
    @Test func aSecondDaemonOnALiveRootChangesNothingAndNamesTheFirst() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        try fixture.baton(["deploy", "web", "site:1"])
        let sandboxesBefore = try sandboxes(fixture)
        let historyBefore = try fixture.baton(["history", "--json"]).stdout

        let socket = fixture.root + "-second.sock"
        defer { unlink(socket) }
        let second = try BatonExecutable.run(["daemon", "--root", fixture.root, "--listen", "127.0.0.1:0", "--socket", socket,
                                              "--metrics", "127.0.0.1:0", "--no-access-log"])
        #expect(second.status != 0)
        let pid = fixture.daemon.process.processIdentifier
        #expect(second.stderr == "error: root \(fixture.root) is in use by another baton daemon (pid \(pid)): stop it first or choose another --root\n")
        #expect(!FileManager.default.fileExists(atPath: socket))

        // The first daemon still serves from the same sandbox, and its records are untouched.
        #expect(fixture.get()?.body == "v1\n")
        #expect(try sandboxes(fixture) == sandboxesBefore)
        #expect(try fixture.baton(["history", "--json"]).stdout == historyBefore)
        #expect(sandboxesBefore.count == 1 && sandboxesBefore.first?.state == "running")
    }

    private struct Listed: Equatable {
        let id: String
        let state: String
        let pid: Int?
    }

    private func sandboxes(_ fixture: DeployFixture) throws -> [Listed] {
        let ps = try fixture.baton(["ps", "--all", "--json"])
        let rows = try JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [[String: Any]] ?? []
        return rows.map { Listed(id: $0["id"] as? String ?? "", state: $0["state"] as? String ?? "", pid: $0["pid"] as? Int) }
    }
}
