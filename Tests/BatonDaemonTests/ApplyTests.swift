import BatonControl
import BatonDaemon
import BatonOS
import Foundation
import Glibc
import Testing

/// `baton apply -f FILE.yml` through a real daemon, real sandboxes and real sockets.
@Suite(.serialized, .enabled(if: geteuid() == 0, "requires root"))
struct ApplyTests {
    @Test func createsAndDeploysThenReapplyIsANoOpThenAChangedArtifactSwaps() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        defer { _ = try? fixture.baton(["app", "rm", "api"], allowFailure: true) }
        try fixture.publishSite("1")
        try fixture.publishSite("2")
        let file = try writeFile(fixture, web: "site:1", extra: """
              api:
                artifact: site:2
                hosts: [api.test]
              legacy:
                upstream: 127.0.0.1:9
                hosts: [legacy.test]
            """)

        let first = try fixture.baton(["apply", "-f", file])
        #expect(first.stdout.contains("create"), "\(first.stdout)")
        #expect(fixture.get()?.body == "v1\n")
        #expect(HTTPGet.fetch(port: fixture.daemon.port, host: "api.test", path: "/")?.body == "v2\n")
        #expect(try appNames(fixture) == ["api", "legacy", "web"])
        #expect(try deployments(fixture).count == 2)

        let again = try fixture.baton(["apply", "-f", file, "--json"])
        let steps = try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(steps.map { $0["action"] as? String } == ["unchanged", "unchanged", "unchanged"], "\(again.stdout)")
        #expect(try deployments(fixture).count == 2, "re-apply deployed nothing")

        _ = try writeFile(fixture, web: "site:2", extra: """
              api:
                artifact: site:2
                hosts: [api.test]
              legacy:
                upstream: 127.0.0.1:9
                hosts: [legacy.test]
            """)
        let plan = try fixture.baton(["apply", "-f", file, "--dry-run", "--json"])
        let planned = try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [[String: Any]] ?? []
        let swap = planned.first { $0["action"] as? String == "swap" }
        #expect(swap?["app"] as? String == "web", "\(plan.stdout)")
        #expect((swap?["from_digest"] as? String)?.hasPrefix("sha256:") == true)
        #expect(swap?["to_digest"] as? String != swap?["from_digest"] as? String)
        #expect(fixture.get()?.body == "v1\n", "--dry-run changed nothing")
        #expect(try deployments(fixture).count == 2)

        try fixture.baton(["apply", "-f", file])
        #expect(fixture.get()?.body == "v2\n")
        #expect(try deployments(fixture).count == 3)

        // --prune removes what the file no longer declares, and its sandbox.
        _ = try writeFile(fixture, web: "site:2")
        try fixture.baton(["apply", "-f", file])
        #expect(try appNames(fixture) == ["api", "legacy", "web"], "without --prune nothing is removed")
        try fixture.baton(["apply", "-f", file, "--prune"])
        #expect(try appNames(fixture) == ["web"])
        #expect(HTTPGet.fetch(port: fixture.daemon.port, host: "api.test", path: "/")?.body != "v2\n")
        let ps = try fixture.baton(["ps", "--json"])
        let running = try JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(running.count == 1, "only web's sandbox is left: \(ps.stdout)")
    }

    @Test func aWrongFileChangesNothing() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        let file = try writeFile(fixture, web: "site:1", extra: """
              api:
                artifact: site:9
                hosts: [api.test]
            """)
        let unknown = try fixture.baton(["apply", "-f", file], allowFailure: true)
        #expect(unknown.status != 0)
        #expect(unknown.stderr.hasPrefix("error: \(file):8:15: app api: unknown artifact site:9"), "\(unknown.stderr)")

        _ = try writeFile(fixture, web: "site:1", extra: """
              api:
                artifact: site:1
                hosts: [api.test]
                instances: 2
            """)
        let badKey = try fixture.baton(["apply", "-f", file], allowFailure: true)
        #expect(badKey.status != 0)
        #expect(badKey.stderr.hasPrefix("error: \(file):10:5: unknown key 'instances'"), "\(badKey.stderr)")

        // Aliases that expand to millions of nodes: one line, at once.
        var bomb = ["a0: &a0 [x, x, x, x, x, x, x, x]"]
        for level in 1...8 { bomb.append("a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 8).joined(separator: ", ") + "]") }
        try (bomb.joined(separator: "\n") + "\napps: {? *a8 : web}\n").write(toFile: file, atomically: true, encoding: .utf8)
        let started = Date()
        let bombed = try fixture.baton(["apply", "-f", file], allowFailure: true)
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(bombed.status != 0)
        #expect(bombed.stderr.hasPrefix("error: \(file):6:"), "\(bombed.stderr)")
        #expect(bombed.stderr.split(separator: "\n").count == 1, "\(bombed.stderr)")

        #expect(try appNames(fixture) == ["web"])
        #expect(try deployments(fixture).isEmpty)
        #expect(fixture.get()?.body != "v1\n")
    }

    @Test func aFailedSwapLeavesItsAppServingAndTheRestIsApplied() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        defer { _ = try? fixture.baton(["app", "rm", "api"], allowFailure: true) }
        try fixture.publishSite("1")
        try fixture.publishSite("2")
        // Never listens: its health check cannot pass.
        try fixture.publishSite("bad", command: "/bin/busybox sleep 1000")
        let file = try writeFile(fixture, web: "site:1")
        try fixture.baton(["apply", "-f", file])
        _ = try writeFile(fixture, web: "site:bad", extra: """
              api:
                artifact: site:2
                hosts: [api.test]
            """)
        let result = try fixture.baton(["apply", "-f", file], allowFailure: true)
        #expect(result.status != 0)
        #expect(result.stderr.contains("error: swap of web failed"), "\(result.stderr)")
        #expect(fixture.get()?.body == "v1\n", "web stays on blue")
        #expect(HTTPGet.fetch(port: fixture.daemon.port, host: "api.test", path: "/")?.body == "v2\n")
    }

    @Test func changedHostsAreUpdatedAndAChangedConfigurationRestartsTheApp() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        let legacy = "  legacy:\n    upstream: 127.0.0.1:9\n    hosts: [legacy.test]"
        let file = try writeFile(fixture, web: "site:1", extra: legacy)
        try fixture.baton(["apply", "-f", file])
        #expect(try deployments(fixture).count == 1)

        _ = try writeFile(fixture, web: "site:1", webSettings: "    env: { GREETING: hi }\n",
                          extra: "  legacy:\n    upstream: 127.0.0.1:9\n    hosts: [old.test, legacy2.test]")
        let applied = try fixture.baton(["apply", "-f", file, "--json"])
        let steps = try JSONSerialization.jsonObject(with: Data(applied.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(steps.map { "\($0["action"] ?? "") \($0["app"] ?? "") \($0["outcome"] ?? "")" }
            == ["update legacy succeeded", "swap web succeeded"], "\(applied.stdout)")
        let apps = try JSONSerialization.jsonObject(with: Data(try fixture.baton(["app", "ls", "--json"]).stdout.utf8)) as? [[String: Any]] ?? []
        #expect(apps.first { $0["name"] as? String == "legacy" }?["hosts"] as? [String] == ["legacy2.test", "old.test"])
        let web = try JSONSerialization.jsonObject(with: Data(try fixture.baton(["app", "inspect", "web", "--json"]).stdout.utf8)) as? [String: Any]
        #expect(web?["env"] as? [String] == ["GREETING=hi"])
        let history = try deployments(fixture)
        #expect(history.count == 2)
        #expect(history.first?["from_digest"] as? String == history.first?["to_digest"] as? String, "a restart on the same bytes")
        #expect(fixture.get()?.body == "v1\n")
        let ps = try JSONSerialization.jsonObject(with: Data(try fixture.baton(["ps", "--json"]).stdout.utf8)) as? [[String: Any]] ?? []
        let sandbox = try #require(ps.first?["id"] as? String)
        let greeting = try fixture.baton(["exec", sandbox, "--", "/bin/sh", "-c", "echo $GREETING"])
        #expect(greeting.stdout == "hi\n", "the new sandbox runs with the new env")
    }

    @Test func theUpdateEndpointRefusesATakenHostAndAChangeOfKind() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.baton(["app", "create", "legacy", "--host", "legacy.test", "--upstream", "127.0.0.1:9"])
        let client = ControlClient(socketPath: ControlClient.socketPath(root: fixture.root))
        #expect {
            try client.updateApp(AppSpec(name: "legacy", hosts: ["legacy.test", DeployFixture.host], upstream: "127.0.0.1:9"))
        } throws: { error in
            (error as? BatonError)?.message == "host \(DeployFixture.host) is already used by app web"
        }
        #expect {
            try client.updateApp(AppSpec(name: "legacy", hosts: ["legacy.test"]))
        } throws: { error in
            (error as? BatonError)?.code == .conflict
        }
        #expect(throws: BatonError.self) { try client.updateApp(AppSpec(name: "nobody", hosts: ["x.test"])) }
        let updated = try client.updateApp(AppSpec(name: "legacy", hosts: ["NEW.test"], upstream: "127.0.0.1:10", healthTimeout: 7))
        #expect(updated.hosts == ["new.test"])
        #expect(updated.upstream == "127.0.0.1:10")
        #expect(updated.healthTimeout == 30, "configuration changes only by a new version (POST /v1/apps/NAME/config)")
        #expect(try client.app(named: "legacy") == updated)
    }

    /// Writes FIXTURE/baton.yml declaring `web` (health timeout 3 s) on `web`'s artifact, plus `extra`.
    private func writeFile(_ fixture: DeployFixture, web: String, webSettings: String = "", extra: String = "") throws -> String {
        let path = fixture.root + "/baton.yml"
        let text = """
            apps:
              web:
                artifact: \(web)
                hosts: [\(DeployFixture.host)]
                health: { path: /health, timeout: 3 }
                drain: 1

            """ + webSettings + (extra.isEmpty ? "" : extra + "\n")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func appNames(_ fixture: DeployFixture) throws -> [String] {
        let apps = try fixture.baton(["app", "ls", "--json"])
        let list = try JSONSerialization.jsonObject(with: Data(apps.stdout.utf8)) as? [[String: Any]] ?? []
        return list.compactMap { $0["name"] as? String }.sorted()
    }

    private func deployments(_ fixture: DeployFixture) throws -> [[String: Any]] {
        let history = try fixture.baton(["history", "--json"])
        return try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [[String: Any]] ?? []
    }
}
