import BatonTestSupport
import Foundation
import Glibc
import Testing

/// The app of docs/real-app.md (examples/python-counter), run as a user would run it:
/// the host's python3 through `--base host`, visits counted in SQLite on a volume, the host's
/// services by name, the outside through NAT, its configuration and a secret changed by
/// `app set`. Traffic goes only to servers this test starts.
@Suite(.serialized, .enabled(if: geteuid() == 0, "requires root"))
struct RealAppTests {
    static let host = "counter.test"

    /// `counter:VERSION`: the example app under /app with VERSION saying `vVERSION`.
    static func publishCounter(_ fixture: DeployFixture, version: Int) throws {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../examples/python-counter").standardized.path
        let source = "\(fixture.root)/src/counter\(version)"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: example, toPath: source + "/app")
        try "v\(version)\n".write(toFile: source + "/app/VERSION", atomically: true, encoding: .utf8)
        try fixture.baton(["artifact", "publish", "counter:\(version)", source, "--base", "host", "--port", "8080",
                           "--health-path", "/health", "--cmd", "/usr/bin/python3 /app/app.py"])
    }

    func get(_ port: Int, _ path: String, host: String = Self.host) -> String {
        HTTPGet.fetch(port: port, host: host, path: path)?.body.trimmingCharacters(in: .whitespacesAndNewlines) ?? "no answer"
    }

    func whoami(_ port: Int, host: String = Self.host) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(get(port, "/whoami", host: host).utf8)) as? [String: Any] ?? [:]
    }

    @Test func aPythonAppKeepsItsDataReachesTheHostAndTheOutsideAndTakesNewConfiguration() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try Self.publishCounter(fixture, version: 1)
        try Self.publishCounter(fixture, version: 2)
        var outputs: [BatonExecutable.Result] = []
        func baton(_ arguments: [String]) throws {
            outputs.append(try fixture.baton(arguments))
        }
        let port = fixture.daemon.port

        // Durable data: the count lives in the volume, whatever version serves.
        try baton(["app", "create", "counter", "--host", Self.host, "--volume", "data:/data"])
        try baton(["deploy", "counter", "counter:1"])
        #expect(get(port, "/") == "v1 says hello")
        #expect((1...3).map { _ in get(port, "/visit") } == ["visits 1", "visits 2", "visits 3"])
        try baton(["deploy", "counter", "counter:2"])
        #expect(get(port, "/") == "v2 says hello")
        #expect(get(port, "/visit") == "visits 4")
        try baton(["rollback", "counter"])
        #expect(get(port, "/") == "v1 says hello")
        #expect(get(port, "/visit") == "visits 5")
        #expect(FileManager.default.fileExists(atPath: fixture.root + "/volumes/counter/data/visits.db"))

        // The network: the host by name, the outside through NAT, never the metadata range.
        let gateway = try EgressAppTests.gateway(fixture)
        let hostService = try EgressAppTests.hostServer(fixture, address: gateway, port: 18961, text: "from the host\n")
        defer { EgressAppTests.stop(hostService) }
        let outside = try OutsideNamespace()
        defer { outside.remove() }
        try outside.serve("from outside\n", port: 18962)
        #expect(get(port, "/fetch?url=http://host.baton.internal:18961/") == "from the host")
        #expect(get(port, "/fetch?url=http://\(outside.address):18962/") == "from outside")
        #expect(get(port, "/fetch?url=http://169.254.169.254/").hasPrefix("unreachable"))
        #expect(try whoami(port)["interfaces"] as? [String] == ["eth0", "lo"])

        // An allow list is the only way out; `--network none` has loopback alone.
        try baton(["app", "create", "locked", "--host", "locked.test", "--env", "DATA_DIR=/tmp",
                   "--egress-allow", "\(outside.address)/32:18962"])
        try baton(["deploy", "locked", "counter:1"])
        #expect(get(port, "/fetch?url=http://\(outside.address):18962/", host: "locked.test") == "from outside")
        #expect(get(port, "/fetch?url=http://host.baton.internal:18961/", host: "locked.test").hasPrefix("unreachable"))
        try baton(["app", "create", "sealed", "--host", "sealed.test", "--env", "DATA_DIR=/tmp", "--network", "none"])
        try baton(["deploy", "sealed", "counter:1"])
        #expect(try whoami(port, host: "sealed.test")["interfaces"] as? [String] == ["lo"])
        #expect(get(port, "/fetch?url=http://\(outside.address):18962/", host: "sealed.test").hasPrefix("unreachable"))

        // Configuration: a swap under load that fails no request, undone by rollback.
        let load = LoadRun(port: port, host: Self.host, clients: 4, limit: 60)
        try baton(["app", "set", "counter", "--env", "GREETING=bonjour"])
        let changed = get(port, "/")
        try baton(["rollback", "counter"])
        load.finish()
        #expect(changed == "v1 says bonjour")
        #expect(get(port, "/") == "v1 says hello")
        #expect(load.failures == 0 && load.served > 0, "\(load.failures) failed of \(load.served + load.failures)")
        #expect(load.bodies.isSubset(of: ["v1 says hello\n", "v1 says bonjour\n"]), "\(load.bodies)")

        // A secret reaches the app and nothing prints it.
        let token = "tok-\(UUID().uuidString)"
        try baton(["app", "set", "counter", "--secret", "API_TOKEN=\(token)"])
        #expect(try whoami(port)["token_sha256"] as? String == Self.sha256(token))
        for listing in [["app", "inspect", "counter"], ["app", "ls"], ["history", "counter"], ["ps", "--all"], ["volume", "ls"]] {
            try baton(listing)
            try baton(listing + ["--json"])
        }
        try baton(["logs", "counter"])
        for output in outputs {
            #expect(!output.stdout.contains(token) && !output.stderr.contains(token), "printed: \(output.stdout)\(output.stderr)")
        }
        #expect(!fixture.daemon.log.contains(token))

        // A daemon killed with -9 comes back to the same data.
        #expect(get(port, "/visit") == "visits 6")
        fixture.daemon.killHard()
        let next = try DaemonProcess(root: fixture.root)
        defer { next.stop() }
        #expect(get(next.port, "/visit") == "visits 7")
        #expect(try whoami(next.port)["token_sha256"] as? String == Self.sha256(token))
        for app in ["counter", "locked", "sealed"] {
            try fixture.baton(["app", "rm", app, "--volumes"])
        }
        #expect(!FileManager.default.fileExists(atPath: fixture.root + "/volumes/counter"))
    }

    /// The guide's second half: the same artifact moves its data to PostgreSQL on the host by a
    /// change of secret (a swap that fails no request), and a rollback moves it back.
    @Test func thePythonAppMovesToPostgreSQLOnTheHostByAChangeOfSecret() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try Self.publishCounter(fixture, version: 1)
        let port = fixture.daemon.port
        try fixture.baton(["app", "create", "counter", "--host", Self.host, "--volume", "data:/data"])
        try fixture.baton(["deploy", "counter", "counter:1"])
        #expect(get(port, "/visit") == "visits 1", "SQLite on the volume")

        let gateway = try EgressAppTests.gateway(fixture)
        let subnet = try #require(try String(contentsOfFile: fixture.root + "/network/settings", encoding: .utf8).split(separator: "\n").last)
        let postgres = try HostPostgres(directory: fixture.root + "-pg", address: gateway, port: 18970, subnet: String(subnet))
        defer { postgres.stop() }
        let password = "pw-\(UUID().uuidString.prefix(12))"
        try postgres.createDatabase("counter", user: "counter", password: password)

        let load = LoadRun(port: port, host: Self.host, clients: 4, limit: 60)
        let set = try fixture.baton(["app", "set", "counter", "--secret",
                                     "DATABASE_URL=postgresql://counter:\(password)@host.baton.internal:18970/counter"])
        load.finish()
        #expect(load.failures == 0 && load.served > 0, "\(load.failures) failed of \(load.served + load.failures)")
        #expect(!set.stdout.contains(password) && !set.stderr.contains(password))
        let visits = [get(port, "/visit"), get(port, "/visit")]
        var diagnosis = ""
        if visits != ["visits 1", "visits 2"] {
            // What the path from the sandboxes to the host looked like when a visit failed.
            diagnosis = ((try? fixture.baton(["logs", "counter"]).stdout) ?? "") + "\n"
                + shell("ip -br addr; bridge link; ip route; ss -ltn; nft list ruleset 2>&1 | head -80; tail -20 \(fixture.root)-pg/server.log")
        }
        #expect(visits == ["visits 1", "visits 2"], "a fresh count, in PostgreSQL; the app's log and the host's network:\n\(diagnosis)")
        #expect(try postgres.psql("SELECT count FROM visits", database: "counter") == "2")

        try fixture.baton(["rollback", "counter"])
        #expect(get(port, "/visit") == "visits 2", "back on the volume's SQLite count")
        try fixture.baton(["app", "rm", "counter", "--volumes"])
    }

    static func sha256(_ text: String) -> String {
        let digest = shell("printf %s '\(text)' | sha256sum")
        return String(digest.prefix(64))
    }
}
