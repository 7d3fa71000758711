import BatonControl
@testable import BatonDaemon
import BatonTestSupport
import Foundation
import Glibc
import GRDB
import Testing

/// `--https-redirect`, `--hsts` and `--upstream-protocol` through the real CLI and daemon:
/// stored on create, changed (and turned off) by `app set`, shown by inspect and ls, kept
/// across a daemon restart, declared in an apply file, and carried to the proxy, whose
/// requests to an h2c app (`Tests/Fixtures/h2c_server.py`) go over HTTP/2.
@Suite(.serialized, .enabled(if: geteuid() == 0 && PythonFixture.available(module: "h2"), "requires root and python3-h2"))
struct AppProxySettingsTests {
    /// A daemon process on a fresh root and an h2c server; both stopped by `finish()`.
    final class Fixture {
        let root: String
        var daemon: DaemonProcess
        let upstream: PythonFixture

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("baton-proxyset-\(UUID().uuidString.prefix(8))").path
            upstream = try PythonFixture(script: "h2c_server.py", arguments: { [$0 + "/stats.json"] })
            do {
                daemon = try DaemonProcess(root: root)
            } catch {
                upstream.stop()
                throw error
            }
        }

        @discardableResult
        func baton(_ arguments: [String], allowFailure: Bool = false) throws -> BatonExecutable.Result {
            try DeployFixture.baton(arguments, root: root, allowFailure: allowFailure)
        }

        func inspect(_ app: String) throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(try baton(["app", "inspect", app]).stdout.utf8)) as? [String: Any] ?? [:]
        }

        /// A POST of "hi" to /echo on `host` through the daemon's proxy: the raw reply.
        func echo(host: String) throws -> String {
            try RawHTTP.exchange(port: daemon.port,
                                 "POST /echo HTTP/1.1\r\nHost: \(host)\r\nTE: trailers\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
        }

        func finish() {
            daemon.stop()
            upstream.stop()
            try? FileManager.default.removeItem(atPath: root)
        }
    }

    @Test func createSetInspectRestartAndTheRouteReachesTheProxy() throws {
        let fixture = try Fixture()
        defer { fixture.finish() }
        let upstream = "127.0.0.1:\(fixture.upstream.port)"
        try fixture.baton(["app", "create", "api", "--host", "api.test", "--upstream", upstream,
                           "--upstream-protocol", "h2c", "--https-redirect", "--hsts"])
        var info = try fixture.inspect("api")
        #expect(info["https_redirect"] as? Bool == true)
        #expect(info["hsts"] as? Bool == true)
        #expect(info["upstream_protocol"] as? String == "h2c")
        let listed = try JSONSerialization.jsonObject(with: Data(try fixture.baton(["app", "ls", "--json"]).stdout.utf8)) as? [[String: Any]]
        #expect(listed?.first?["upstream_protocol"] as? String == "h2c")
        #expect(listed?.first?["https_redirect"] as? Bool == true)
        #expect(listed?.first?["hsts"] as? Bool == true)

        let off = try fixture.baton(["app", "set", "api", "--no-https-redirect", "--no-hsts"])
        #expect(off.stdout == "api: settings stored; the proxy applies them now\n", "\(off.stdout)")
        info = try fixture.inspect("api")
        #expect(info["https_redirect"] as? Bool == false)
        #expect(info["hsts"] as? Bool == false)
        #expect(info["upstream_protocol"] as? String == "h2c", "a setting not given stays")

        // The route carries the protocol: over h2c the app answers, with its trailers.
        let reply = try fixture.echo(host: "api.test")
        #expect(RawHTTP.parse(reply).status == 200, "\(reply)")
        #expect(reply.lowercased().contains("x-seen-te: trailers"), "\(reply)")
        #expect(reply.contains("grpc-status: 0"), "\(reply)")
        // Switched to HTTP/1.1 at once, with no deploy: the h2c-only app cannot answer it.
        try fixture.baton(["app", "set", "api", "--upstream-protocol", "http1"])
        #expect(RawHTTP.parse(try fixture.echo(host: "api.test")).status == 502)
        try fixture.baton(["app", "set", "api", "--upstream-protocol", "h2c", "--hsts"])
        #expect(RawHTTP.parse(try fixture.echo(host: "api.test")).status == 200)

        // The state database keeps them across a daemon killed and started again.
        fixture.daemon.killHard()
        fixture.daemon = try DaemonProcess(root: fixture.root)
        info = try fixture.inspect("api")
        #expect(info["upstream_protocol"] as? String == "h2c")
        #expect(info["hsts"] as? Bool == true)
        #expect(info["https_redirect"] as? Bool == false)
        #expect(RawHTTP.parse(try fixture.echo(host: "api.test")).status == 200)
    }

    /// Bad values: one `error:` line each, and nothing created or changed.
    @Test func badValuesAreRefusedWithOneLineAndChangeNothing() throws {
        let fixture = try Fixture()
        defer { fixture.finish() }
        try fixture.baton(["app", "create", "api", "--host", "api.test", "--upstream", "127.0.0.1:\(fixture.upstream.port)"])
        let cases: [([String], String)] = [
            (["app", "create", "other", "--host", "o.test", "--upstream", "127.0.0.1:9", "--upstream-protocol", "h3"],
             "error: The value 'h3' is invalid for '--upstream-protocol"),
            (["app", "create", "other", "--host", "o.test", "--upstream-protocol", "HTTP2"],
             "error: The value 'HTTP2' is invalid for '--upstream-protocol"),
            (["app", "create", "other", "--host", "o.test", "--hsts=yes"], "error: "),
            (["app", "set", "api", "--upstream-protocol", "grpc"], "error: The value 'grpc' is invalid for '--upstream-protocol"),
            (["app", "set", "api", "--upstream-protocol"], "error: Missing value for '--upstream-protocol"),
            (["app", "set", "api", "--https-redirect=false"], "error: "),
            (["app", "set", "nobody", "--hsts"], "error: no app named nobody"),
        ]
        for (arguments, message) in cases {
            let result = try fixture.baton(arguments, allowFailure: true)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.hasPrefix(message), "\(arguments): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
        }
        let info = try fixture.inspect("api")
        #expect(info["upstream_protocol"] as? String == "http1")
        #expect(info["hsts"] as? Bool == false)
        let apps = try JSONSerialization.jsonObject(with: Data(try fixture.baton(["app", "ls", "--json"]).stdout.utf8)) as? [[String: Any]]
        #expect(apps?.map { $0["name"] as? String } == ["api"])
    }

    @Test func anApplyFileDeclaresTheProxySettings() throws {
        let fixture = try Fixture()
        defer { fixture.finish() }
        let file = fixture.root + "-baton.yml"
        defer { try? FileManager.default.removeItem(atPath: file) }
        func write(_ settings: String) throws {
            try """
                apps:
                  api:
                    upstream: 127.0.0.1:\(fixture.upstream.port)
                    hosts: [api.test]
                \(settings)
                """.write(toFile: file, atomically: true, encoding: .utf8)
        }
        try write("    protocol: h2c\n    https-redirect: true\n    hsts: true\n")
        try fixture.baton(["apply", "-f", file])
        var info = try fixture.inspect("api")
        #expect(info["upstream_protocol"] as? String == "h2c")
        #expect(info["https_redirect"] as? Bool == true)
        #expect(info["hsts"] as? Bool == true)
        let again = try fixture.baton(["apply", "-f", file, "--json"])
        let steps = try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(steps.map { $0["action"] as? String } == ["unchanged"], "\(again.stdout)")

        // Left out: back to the defaults, changed in place.
        try write("    protocol: h2c\n")
        let changed = try fixture.baton(["apply", "-f", file, "--json"])
        let update = try JSONSerialization.jsonObject(with: Data(changed.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(update.first?["action"] as? String == "update", "\(changed.stdout)")
        #expect((update.first?["changes"] as? [String])?.sorted() == ["hsts", "https-redirect"], "\(changed.stdout)")
        info = try fixture.inspect("api")
        #expect(info["https_redirect"] as? Bool == false)
        #expect(info["upstream_protocol"] as? String == "h2c")
        #expect(RawHTTP.parse(try fixture.echo(host: "api.test")).status == 200)

        for (settings, message) in [
            ("    protocol: h3\n", "baton.yml:5:15: 'protocol' must be http1 or h2c, not 'h3'"),
            ("    hsts: yes\n", "baton.yml:5:11: 'hsts' must be true or false, not 'yes'"),
        ] {
            try write(settings)
            let refused = try fixture.baton(["apply", "-f", file], allowFailure: true)
            #expect(refused.status != 0)
            #expect(refused.stderr.contains(message.dropFirst("baton.yml".count)), "\(refused.stderr)")
            #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        }
        #expect(try fixture.inspect("api")["upstream_protocol"] as? String == "h2c", "a refused file changes nothing")
    }
}

/// A gRPC-style app in a sandbox: the h2c server runs on the host's python3 (`--base host`)
/// with only loopback, the deploy's health check speaks h2c to it inside the sandbox's
/// network namespace, and so does the proxy.
@Suite(.serialized, .enabled(if: geteuid() == 0 && PythonFixture.available(module: "h2"), "requires root and python3-h2"))
struct H2CSandboxAppTests {
    @Test func anH2CSandboxAppDeploysAndServesThroughTheProxy() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        let source = fixture.root + "/src/grpc"
        try FileManager.default.createDirectory(atPath: source + "/app", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: PythonFixture.script("h2c_server.py"), toPath: source + "/app/h2c_server.py")
        try fixture.baton(["artifact", "publish", "grpc:1", source, "--base", "host", "--port", "8000", "--health-path", "/health",
                           "--cmd", "/usr/bin/python3 /app/h2c_server.py /tmp/stats.json --port 8000 --in-sandbox"])

        // Checked over HTTP/1.1, the h2c-only app never becomes healthy: the old way fails.
        try fixture.baton(["app", "create", "plain", "--host", "plain.test", "--network", "none", "--health-timeout", "2"])
        let refused = try fixture.baton(["deploy", "plain", "grpc:1"], allowFailure: true)
        #expect(refused.status != 0, "\(refused.stdout)")

        try fixture.baton(["app", "create", "grpc", "--host", "grpc.test", "--network", "none", "--upstream-protocol", "h2c"])
        let deployed = try fixture.baton(["deploy", "grpc", "grpc:1"], allowFailure: true)
        #expect(deployed.status == 0, "\(deployed.stdout) \(deployed.stderr)")
        let reply = try RawHTTP.exchange(port: fixture.daemon.port,
                                         "POST /echo HTTP/1.1\r\nHost: grpc.test\r\nTE: trailers\r\nContent-Length: 4\r\nConnection: close\r\n\r\nping")
        #expect(RawHTTP.parse(reply).status == 200, "\(reply)")
        #expect(reply.contains("ping"))
        #expect(reply.contains("grpc-status: 0"), "\(reply)")
        let ps = try JSONSerialization.jsonObject(with: Data(try fixture.baton(["ps", "--json"]).stdout.utf8)) as? [[String: Any]] ?? []
        #expect(ps.first { $0["app"] as? String == "grpc" }?["health"] as? String == "healthy", "\(ps)")
        try fixture.baton(["app", "rm", "grpc"])
        try fixture.baton(["app", "rm", "plain"])
    }
}

/// A database from before the proxy settings: its apps get the defaults.
@Suite struct AppProxySettingsMigrationTests {
    @Test func appsFromBeforeTheMigrationGetTheDefaults() throws {
        let old = try OldStateDatabase(upTo: "v6: app networks")
        defer { old.remove() }
        try old.queue.write { db in
            try db.execute(sql: """
                INSERT INTO apps (name, kind, upstream, health_status, health_timeout, drain_timeout, env, created_at)
                VALUES ('legacy', 'upstream', '127.0.0.1:9', 200, 30, 30, '[]', '2026-01-01T00:00:00Z');
                """)
        }
        try old.queue.close()
        let database = try StateDatabase(path: old.path)
        let app = try #require(try database.app(named: "legacy"))
        #expect(app.httpsRedirect == false)
        #expect(app.hsts == false)
        #expect(app.upstreamProtocol == .http1)
        #expect(ProxyRoutes.routeOptions(app).upstreamProtocol == .http1)
        let refused = #expect(throws: (any Error).self) {
            try database.pool.write { db in try db.execute(sql: "UPDATE apps SET upstream_protocol = 'h3'") }
        }
        #expect(refused != nil, "the column takes only http1 and h2c")
    }
}
