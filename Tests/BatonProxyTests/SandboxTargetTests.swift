import BatonProxy
import BatonSandbox
import Foundation
import Glibc
import Testing

/// Targets inside a sandbox's network namespace: the proxy makes its upstream socket there and
/// connects to 127.0.0.1:PORT, so the sandbox needs no address, bridge or NAT.
@Suite(.serialized) struct SandboxTargetTests {
    @Test(.enabled(if: geteuid() == 0, "requires root"))
    func requestReachesHttpdInsideARealSandbox() async throws {
        let rootfs = try BusyboxRoot()
        defer { rootfs.remove() }
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("baton-proxy-state-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: state) }

        let id = "proxy-httpd-\(UUID().uuidString.prefix(8).lowercased())"
        let spec = SandboxSpec(id: id, root: .directory(rootfs.path), argv: ["/bin/busybox", "httpd", "-f", "-p", "8000", "-h", "/www"])
        let sandbox = try await launchBounded(spec, stateRoot: state)
        let reaped = Flag()
        defer {
            if !reaped.isSet {
                sandbox.kill()
                _ = try? sandbox.wait()
            }
            sandbox.destroy()
        }

        try await ProxyFixture.with { fixture in
            let target = Target.sandbox(netnsPath: "/proc/\(sandbox.pid)/ns/net", port: 8000)
            fixture.proxy.install(RouteTable([("site.test", Route(app: "site", target: target))]))

            // httpd binds a moment after launch: until then the proxy answers 502.
            let port = fixture.port
            var response = try await offThePool { try Self.get("/index.html", host: "site.test", port: port) }
            for _ in 0..<100 where response.status == 502 {
                try await Task.sleep(for: .milliseconds(50))
                response = try await offThePool { try Self.get("/index.html", host: "site.test", port: port) }
            }
            #expect(response.status == 200)
            #expect(response.text == BusyboxRoot.page)
            #expect(fixture.proxy.inFlight(target: target) == 0)

            // Once the sandbox is gone its namespace is too: 502, and the proxy stays up.
            sandbox.kill()
            _ = try await offThePool { try sandbox.wait() }
            reaped.set()
            #expect(try await offThePool { try Self.get("/index.html", host: "site.test", port: port) }.status == 502)
            #expect(try await offThePool { try Self.get("/", host: "app.test", port: port) }.status == 404)
        }
    }

    @Test func sandboxTargetWhoseNamespaceIsGoneIs502() async throws {
        try await ProxyFixture.with { fixture in
            let gone = Target.sandbox(netnsPath: "/proc/\(Int32.max)/ns/net", port: 8000)
            fixture.proxy.install(RouteTable([
                ("gone.test", Route(app: "gone", target: gone)),
                ("app.test", Route(app: "app", target: fixture.backendTarget)),
            ]))
            let client = try fixture.client()
            try client.send("GET /x HTTP/1.1\r\nHost: gone.test\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 502)
            #expect(response.header("x-request-id") != nil)
            // The same keep-alive connection goes on to a working app.
            try client.send("GET /after HTTP/1.1\r\nHost: app.test\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            #expect(fixture.backend.log.uris == ["/after"])
            #expect(fixture.proxy.metrics.render().contains(#"baton_proxy_upstream_errors_total{app="gone",kind="connect_refused"} 1"#))
        }
    }

    private static func get(_ path: String, host: String, port: Int) throws -> (status: Int, text: String) {
        let client = try RawClient(port: port)
        try client.send("GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n")
        let response = try client.readResponse()
        return (response.status, response.text)
    }
}
