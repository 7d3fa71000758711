import Foundation
import Glibc
import Testing

/// The real `baton` binary against a real daemon process: what a user and an operator see.
@Suite(.serialized) struct DaemonProcessTests {
    private static func temporaryRoot() throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("baton-proc-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        return root
    }

    private struct ListedApp: Decodable, Equatable {
        var name: String
        var hosts: [String]
        var kind: String
        var upstream: String?
    }

    @Test func appsAndRoutesSurviveKill9OfTheDaemon() async throws {
        let root = try Self.temporaryRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let backend = try EchoBackend()
        defer { backend.stop() }

        let first = try await offThePool { try DaemonProcess(root: root) }
        defer { first.stop() }
        let created = try await Self.baton(["app", "create", "web", "--host", "web.test", "--upstream", "127.0.0.1:\(backend.port)", "--root", root])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(try await offThePool { RawHTTP.parse(try RawHTTP.exchange(port: first.port, Self.get("/before"))) } == (200, "hello /before"))

        try await offThePool { first.killHard() }
        #expect(first.process.terminationReason == .uncaughtSignal && first.process.terminationStatus == SIGKILL)

        let second = try await offThePool { try DaemonProcess(root: root) }
        defer { second.stop() }
        let listed = try await Self.baton(["app", "ls", "--json", "--root", root])
        #expect(listed.status == 0, "\(listed.stderr)")
        let apps = try JSONDecoder().decode([ListedApp].self, from: Data(listed.stdout.utf8))
        #expect(apps == [ListedApp(name: "web", hosts: ["web.test"], kind: "upstream", upstream: "127.0.0.1:\(backend.port)")])
        #expect(try await offThePool { RawHTTP.parse(try RawHTTP.exchange(port: second.port, Self.get("/after"))) } == (200, "hello /after"))
        #expect(backend.paths == ["/before", "/after"])
    }

    /// A local user who is neither root nor in the socket's group tries the control API through
    /// a socket whose mode was loosened to 0666: the kernel lets the connection through, so the
    /// daemon's SO_PEERCRED check is what must refuse it. (The socket sits outside the root,
    /// as operators who share the CLI with a group put it: the root itself is 0700.)
    @Test(.enabled(if: geteuid() == 0, "requires root"))
    func userOutsideTheSocketGroupIsRefusedByPeerCredentials() async throws {
        let root = try Self.temporaryRoot()
        let run = root + "-run"
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root); try? FileManager.default.removeItem(atPath: run) }
        #expect(chmod(run, 0o711) == 0)
        let socket = run + "/baton.sock"
        let daemon = try await offThePool { try DaemonProcess(root: root, extra: ["--socket", socket]) }
        defer { daemon.stop() }
        let at = ["--root", root, "--socket", socket]
        #expect(try await Self.baton(["app", "create", "web", "--host", "web.test", "--upstream", "127.0.0.1:9"] + at).status == 0)

        // Control: uid 65534 with the socket's group (root) reaches the socket and is served,
        // so the path is open to that uid and the check looks at the group.
        let inGroup = try await Self.baton(["app", "ls"] + at, prefix: Self.setpriv(gid: 0))
        #expect(inGroup.status == 0, "\(inGroup.stderr)")
        #expect(inGroup.stdout.contains("web"))

        #expect(chmod(socket, 0o666) == 0)
        let nobody = Self.setpriv(gid: 65534)
        let listed = try await Self.baton(["app", "ls"] + at, prefix: nobody)
        #expect(listed.status != 0)
        #expect(listed.stdout.isEmpty)
        #expect(listed.stderr == "error: permission denied: only root or the socket's group may use the control API\n")

        let created = try await Self.baton(["app", "create", "evil", "--host", "evil.test", "--upstream", "127.0.0.1:9"] + at, prefix: nobody)
        #expect(created.status != 0)
        #expect(created.stderr.split(separator: "\n").count == 1)
        #expect(created.stderr.hasPrefix("error: permission denied"))
        let removed = try await Self.baton(["app", "rm", "web"] + at, prefix: nobody)
        #expect(removed.status != 0)

        // Nothing changed, and the daemon says who it refused and why.
        let after = try await Self.baton(["app", "ls", "--json"] + at)
        let names = try JSONDecoder().decode([ListedApp].self, from: Data(after.stdout.utf8)).map(\.name)
        #expect(names == ["web"])
        let refusals = daemon.log.split(separator: "\n").filter { $0.contains("refused control client") }
        #expect(refusals.count == 3)
        #expect(refusals.allSatisfy { $0.contains("uid 65534 gid 65534: not root and not in the socket's group 0") })
    }

    private static func baton(_ arguments: [String], prefix: [String] = []) async throws -> BatonExecutable.Result {
        try await offThePool { try BatonExecutable.run(arguments, prefix: prefix) }
    }

    private static func setpriv(gid: Int) -> [String] {
        ["/usr/bin/setpriv", "--reuid=65534", "--regid=\(gid)", "--clear-groups"]
    }

    private static func get(_ path: String) -> String {
        "GET \(path) HTTP/1.1\r\nHost: web.test\r\nConnection: close\r\n\r\n"
    }
}
