import Foundation
import Glibc
import Testing

/// Seeing what is where: URLs with the real port, effective settings with their source, a
/// deploy that says why it waits, and a history that tells deploys, redeploys and restarts apart.
@Suite(.serialized) struct OperatorViewTests {
    private static func object(_ text: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
    }

    private static func array(_ text: String) throws -> [[String: Any]] {
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] ?? []
    }

    @Test(.enabled(if: geteuid() == 0, "requires root"))
    func urlsCarryTheListenPortAndInspectShowsEffectiveValues() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        let port = fixture.daemon.port
        try fixture.publishSite("1")

        let created = try fixture.baton(["app", "create", "api", "--host", "api.test", "--host", "api2.test", "--port", "8000"])
        #expect(created.stdout == "api at http://api.test:\(port)/, http://api2.test:\(port)/\n")

        // Before any deploy: nothing sets the port; the health path is Baton's default.
        var effective = try Self.object(fixture.baton(["app", "inspect", "web"]).stdout)["effective"] as? [String: Any] ?? [:]
        #expect(effective["port"] as? [String: String] == ["source": "unset"])
        #expect(effective["health_path"] as? [String: String] == ["value": "/", "source": "default"])

        let deployed = try fixture.baton(["deploy", "web", "site:1"])
        #expect(deployed.stdout.hasSuffix(" at http://web.test:\(port)/\n"), "\(deployed.stdout)")
        #expect(deployed.stdout.hasPrefix("web now serves sha256:"))

        let inspected = try Self.object(fixture.baton(["app", "inspect", "web", "--json"]).stdout)
        #expect(inspected["port"] is NSNull, "the app's own field stays as set")
        effective = inspected["effective"] as? [String: Any] ?? [:]
        #expect(effective["port"] as? [String: String] == ["value": "8000", "source": "artifact"])
        #expect(effective["health_path"] as? [String: String] == ["value": "/health", "source": "artifact"])
        #expect((effective["artifact"] as? String)?.hasPrefix("sha256:") == true)
        let own = try Self.object(fixture.baton(["app", "inspect", "api"]).stdout)["effective"] as? [String: Any] ?? [:]
        #expect(own["port"] as? [String: String] == ["value": "8000", "source": "app"])

        let listed = try fixture.baton(["app", "ls"]).stdout.split(separator: "\n").map(String.init)
        #expect(listed.first?.hasSuffix("URLS") == true, "\(listed)")
        #expect(listed.contains { $0.hasPrefix("web ") && $0.hasSuffix("http://web.test:\(port)/") }, "\(listed)")
        #expect(listed.contains { $0.hasPrefix("api ") && $0.hasSuffix("http://api.test:\(port)/, http://api2.test:\(port)/") }, "\(listed)")
    }

    /// A first deploy, a redeploy after `baton stop` left the app serving nothing, and the
    /// daemon's restart after the program was killed: three different words in `history`.
    @Test(.enabled(if: geteuid() == 0, "requires root"))
    func historyTellsDeployRedeployAndRestartApart() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        try fixture.baton(["deploy", "web", "site:1"])
        try fixture.baton(["stop", try fixture.servingSandbox().id])
        try fixture.baton(["deploy", "web", "site:1"])
        let crashed = try fixture.servingSandbox()
        #expect(kill(Int32(crashed.pid), SIGKILL) == 0)
        var triggers: [String] = []
        for _ in 0..<600 {
            let rows = try fixture.baton(["history", "web"]).stdout.split(separator: "\n").dropFirst()
            triggers = rows.map { $0.split(separator: " ", omittingEmptySubsequences: true) }.map { $0.count > 6 ? String($0[6]) : "" }
            if triggers.count == 3, rows.first?.contains("succeeded") == true { break }
            usleep(100_000)
        }
        // Newest first.
        #expect(triggers == ["restart", "redeploy", "deploy"])
        let records = try Self.array(fixture.baton(["history", "web", "--json"]).stdout)
        #expect(records.map { $0["trigger"] as? String } == ["restart", "deploy", "deploy"])
        #expect((records[1]["trigger_detail"] as? String)?.hasPrefix("redeploy:") == true)
        #expect(records[2]["trigger_detail"] is NSNull)
    }

    /// Green answers 404 where 200 is wanted, with a long health timeout: the deploy says every
    /// few seconds how the checks go; `baton stop` of green ends it at once, with a reason in
    /// words (the health timeout would have said "did not answer … within 120 s").
    @Test(.enabled(if: geteuid() == 0, "requires root"))
    func aWaitingDeploySaysWhyAndEndsWhenGreenIsStopped() async throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.baton(["app", "rm", "web"])
        try fixture.baton(["app", "create", "web", "--host", DeployFixture.host, "--health-timeout", "120"])
        try fixture.publishSite("missing", healthPath: "/missing")
        let root = fixture.root
        let deploy = Task { try await offThePool { try DeployFixture.baton(["deploy", "web", "site:missing"], root: root, allowFailure: true) } }
        var green: String?
        for _ in 0..<600 {
            let history = try Self.array(try await offThePool { try DeployFixture.baton(["history", "web", "--json"], root: root).stdout })
            if let wait = history.first?["health_wait"] as? [String: Any], let seconds = wait["seconds"] as? Double, seconds > 10,
               (wait["last_result"] as? String) == "answered 404" {
                let boxes = try Self.array(try await offThePool { try DeployFixture.baton(["ps", "--json"], root: root).stdout })
                green = boxes.first { $0["app"] as? String == "web" }?["id"] as? String
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let id = try #require(green)
        try await offThePool { _ = try DeployFixture.baton(["stop", id], root: root) }
        let result = try await deploy.value
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n")
        let waiting = lines.filter { $0.hasPrefix("waiting  health: ") }
        #expect(waiting.count >= 2, "\(result.stderr)")
        #expect(waiting.allSatisfy { $0.hasSuffix(", last: answered 404") }, "\(result.stderr)")
        #expect(result.stderr.contains("the new sandbox \(id) exited during its health check: it was stopped"), "\(result.stderr)")
        #expect(!result.stderr.contains("/proc/"), "\(result.stderr)")
    }

    /// A program that exits at once: the reason says so, with its status, never a /proc path.
    @Test(.enabled(if: geteuid() == 0, "requires root"))
    func aGreenThatExitsAtOnceSaysItsStatus() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("dead", command: "/bin/sh -c 'echo boom; exit 3'")
        let result = try fixture.baton(["deploy", "web", "site:dead"], allowFailure: true)
        #expect(result.status != 0)
        #expect(result.stderr.contains("the program exited with status 3"), "\(result.stderr)")
        #expect(result.stderr.contains("the new sandbox web-"), "\(result.stderr)")
        #expect(!result.stderr.contains("/proc/"), "\(result.stderr)")
    }
}
