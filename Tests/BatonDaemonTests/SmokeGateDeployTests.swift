import Foundation
import Glibc
import Testing

/// The smoke gate end to end: a real daemon, real sandboxes, checks sent into green's network
/// namespace before the flip, while a load runs through the proxy.
@Suite(.serialized, .enabled(if: geteuid() == 0, "requires root"))
struct SmokeGateDeployTests {
    /// `site:VERSION` with CGI scripts beside the fixture's files: /cgi-bin/api answers
    /// `api` (a CGI body, status line included), /cgi-bin/env echoes the headers a check sent.
    static func publishSite(_ fixture: DeployFixture, _ version: String, api: String) throws {
        let cgi = "\(fixture.root)/src/site\(version)/www/cgi-bin"
        try FileManager.default.createDirectory(atPath: cgi, withIntermediateDirectories: true)
        let scripts = [
            "api": "#!/bin/sh\nprintf '\(api)'\n",
            "env": "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\nhost=%s proto=%s fwdhost=%s for=%s\\n' "
                + "\"$HTTP_HOST\" \"$HTTP_X_FORWARDED_PROTO\" \"$HTTP_X_FORWARDED_HOST\" \"$HTTP_X_FORWARDED_FOR\"\n",
        ]
        for (name, text) in scripts {
            try text.write(toFile: "\(cgi)/\(name)", atomically: true, encoding: .utf8)
            chmod("\(cgi)/\(name)", 0o755)
        }
        try fixture.publishSite(version)
    }

    static let goodAPI = #"Content-Type: application/json\r\n\r\n{"items": [1, 2]}\n"#
    static let brokenAPI = #"Status: 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\nboom: \033[31mdatabase is down\n"#

    private func records(_ fixture: DeployFixture) throws -> [[String: Any]] {
        let history = try fixture.baton(["history", "web", "--json"])
        return try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [[String: Any]] ?? []
    }

    @Test func aV2WhoseAPIFailsIsRefusedBeforeTheFlipWhileBlueServesUnderLoad() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try Self.publishSite(fixture, "1", api: Self.goodAPI)
        try Self.publishSite(fixture, "2", api: Self.brokenAPI)
        try fixture.baton(["app", "set", "web", "--smoke", "GET /health 200",
                           "--smoke", #"GET /cgi-bin/api 200 contains "items""#,
                           "--smoke", #"GET /cgi-bin/env 200 contains "host=web.test proto=http fwdhost=web.test for=127.0.0.1""#])
        let deployed = try fixture.baton(["deploy", "web", "site:1"])
        #expect(deployed.status == 0)
        #expect(try records(fixture).first.flatMap { ($0["phases"] as? [[String: Any]])?.map { $0["phase"] as? String } }
            == ["started", "healthy", "smoked", "routed"])
        let blue = try fixture.servingSandbox()

        let load = LoadRun(port: fixture.daemon.port, host: DeployFixture.host, clients: 4, limit: 60)
        usleep(300_000)
        let refused = try fixture.baton(["deploy", "web", "site:2"], allowFailure: true)
        usleep(300_000)
        load.finish()

        #expect(refused.status != 0)
        let errors = refused.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(errors.count == 1, "\(refused.stderr)")
        #expect(errors.first?.contains(#"smoke check 2 of 3 'GET /cgi-bin/api 200 contains "items"' failed: answered 500, expected 200"#) == true,
                "\(refused.stderr)")
        #expect(errors.first?.contains(#"body "boom: \x1b[31mdatabase is down\x0a""#) == true, "\(refused.stderr)")
        #expect(!refused.stderr.contains("\u{1b}"), "green's bytes are escaped")
        #expect(load.failures == 0)
        #expect(load.served > 0)
        #expect(load.bodies == ["v1\n"])
        #expect(try fixture.servingSandbox().id == blue.id)
        let ps = try fixture.baton(["ps", "--json"])
        let running = try JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(running.count == 1, "green is stopped: \(ps.stdout)")
        let last = try #require(try records(fixture).first)
        #expect(last["outcome"] as? String == "failed")
        #expect((last["reason"] as? String)?.contains("answered 500, expected 200") == true, "\(last)")
        #expect((last["phases"] as? [[String: Any]])?.map { $0["phase"] as? String } == ["started", "healthy"])
    }

    @Test func checksAreStoredKeptByAppSetRemovedByNoSmokeAndABadOneChangesNothing() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        let file = fixture.root + "/smoke.txt"
        try "# the API\nGET /health 200\n\nPOST /cgi-bin/api 200   body {\"a\": 1}\n".write(toFile: file, atomically: true, encoding: .utf8)
        try fixture.baton(["app", "set", "web", "--smoke-file", file])
        let inspect = { () throws -> [String]? in
            let text = try fixture.baton(["app", "inspect", "web"]).stdout
            return (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["smoke"] as? [String]
        }
        let stored = ["GET /health 200", #"POST /cgi-bin/api 200 body {"a": 1}"#]
        #expect(try inspect() == stored)
        try fixture.baton(["app", "set", "web", "--hsts"])
        #expect(try inspect() == stored)

        let bad = try fixture.baton(["app", "set", "web", "--smoke", "GET /health 200", "--smoke", "GET /api OK"], allowFailure: true)
        #expect(bad.status != 0)
        #expect(bad.stderr == "error: invalid smoke check 'GET /api OK': status 'OK' is not an HTTP status: use 100-599\n", "\(bad.stderr)")
        #expect(try inspect() == stored)
        let badCreate = try fixture.baton(["app", "create", "other", "--host", "other.test", "--smoke", "FETCH / 200"], allowFailure: true)
        #expect(badCreate.status != 0 && badCreate.stderr.hasPrefix("error: invalid smoke check 'FETCH / 200': unknown method"), "\(badCreate.stderr)")
        let list = try fixture.baton(["app", "ls", "--json"]).stdout
        #expect(!list.contains("\"other\""))

        try fixture.baton(["app", "set", "web", "--no-smoke"])
        #expect(try inspect() == [])
    }

    @Test func anApplyFileSetsAndClearsTheChecksInPlace() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try Self.publishSite(fixture, "1", api: Self.goodAPI)
        let file = fixture.root + "/baton.yml"
        let yaml = { (smoke: String) in
            "apps:\n  web:\n    artifact: site:1\n    hosts: [\(DeployFixture.host)]\n" + smoke
        }
        try yaml(#"    smoke: ["GET /health 200", 'GET /cgi-bin/api 200 contains "items"']"# + "\n")
            .write(toFile: file, atomically: true, encoding: .utf8)
        try fixture.baton(["apply", "-f", file])
        let inspect = { () throws -> [String]? in
            let text = try fixture.baton(["app", "inspect", "web"]).stdout
            return (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["smoke"] as? [String]
        }
        #expect(try inspect() == ["GET /health 200", #"GET /cgi-bin/api 200 contains "items""#])
        #expect(try records(fixture).first.flatMap { ($0["phases"] as? [[String: Any]])?.map { $0["phase"] as? String } }
            == ["started", "healthy", "smoked", "routed"])
        try yaml("").write(toFile: file, atomically: true, encoding: .utf8)
        let plan = try fixture.baton(["apply", "-f", file, "--dry-run"]).stdout
        #expect(plan.contains("smoke"), "\(plan)")
        try fixture.baton(["apply", "-f", file])
        #expect(try inspect() == [])
    }

    @Test func aPreviewIsCheckedUnderItsOwnHost() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try Self.publishSite(fixture, "1", api: Self.goodAPI)
        let created = try fixture.baton(["preview", "create", "pr-1", "site:1", "--smoke", #"GET /cgi-bin/env 200 contains "host=pr-1.preview.localhost ""#])
        #expect(created.status == 0)
        #expect(HTTPGet.fetch(port: fixture.daemon.port, host: "pr-1.preview.localhost", path: "/")?.body == "v1\n")
        let refused = try fixture.baton(["preview", "create", "pr-2", "site:1", "--smoke", #"GET /cgi-bin/env 200 contains "host=web.test""#],
                                        allowFailure: true)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains(#"its body lacks "host=web.test"; body "host=pr-2.preview.localhost"#), "\(refused.stderr)")
        #expect(HTTPGet.fetch(port: fixture.daemon.port, host: "pr-2.preview.localhost", path: "/")?.status == 404)
    }
}
