import BatonOS
import BatonProxy
import BatonSandbox
import BatonTestSupport
import Foundation
import Glibc
import Testing

/// Targets inside a sandbox's network namespace: the proxy makes its upstream socket there and
/// connects to 127.0.0.1:PORT, so the sandbox needs no address, bridge or NAT.
@Suite(.serialized) struct SandboxTargetTests {
    @Test(.enabled(if: geteuid() == 0, "requires root"))
    func requestReachesHttpdInsideARealSandbox() async throws {
        try await HttpdSandbox.with(port: 8000) { httpd in
            try await ProxyFixture.with { fixture in
                let target = Target.sandbox(try NetworkNamespace.of(httpd.sandbox.process), port: 8000)
                fixture.proxy.install(RouteTable([("site.test", Route(app: "site", target: target))]))
                let port = fixture.port
                let response = try await Self.firstAnswer(host: "site.test", port: port)
                #expect(response.status == 200)
                #expect(response.text == BusyboxRoot.page)
                #expect(fixture.proxy.inFlight(target: target) == 0)

                // Once the sandbox is gone nothing listens in its namespace (the target still
                // holds it): 502, and the proxy stays up.
                try await httpd.kill()
                #expect(try await offThePool { try Self.get("/index.html", host: "site.test", port: port) }.status == 502)
                #expect(try await offThePool { try Self.get("/", host: "app.test", port: port) }.status == 404)
            }
        }
    }

    /// The sandbox's init exits and a host process is given its pid (the kernel reuses pids; the
    /// test forces it through ns_last_pid). A route that named /proc/PID/ns/net would now lead
    /// into the host's namespace, where that process answers on the app's port; the target
    /// holds the sandbox's own namespace, so the impostor is never reached.
    @Test(.enabled(if: geteuid() == 0, "requires root"))
    func aReusedPidNeverLeadsTheRouteIntoAnotherNamespace() async throws {
        let port = try ReservedPort.released()
        try await HttpdSandbox.with(port: port) { httpd in
            try "impostor in the host's namespace\n".write(toFile: httpd.scratch + "/index.html", atomically: true, encoding: .utf8)
            let pid = httpd.sandbox.pid
            let target = Target.sandbox(try NetworkNamespace.of(httpd.sandbox.process), port: port)
            try await ProxyFixture.with { fixture in
                fixture.proxy.install(RouteTable([("site.test", Route(app: "site", target: target))]))
                let proxyPort = fixture.port
                #expect(try await Self.firstAnswer(host: "site.test", port: proxyPort).text == BusyboxRoot.page)

                try await httpd.kill()
                let impostor = try await offThePool {
                    try Self.hostProcess(withPID: pid, argv: ["/bin/busybox", "httpd", "-f", "-p", "127.0.0.1:\(port)", "-h", httpd.scratch])
                }
                defer {
                    kill(impostor, SIGKILL)
                    waitpid(impostor, nil, 0)
                }
                try await offThePool { try Self.waitUntilListening(port: port) }
                // The attack is real: the pid's namespace path now names the host's namespace.
                let namespaceByPath = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/net")
                #expect(namespaceByPath == (try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net")))

                let after = try await offThePool { try Self.get("/index.html", host: "site.test", port: proxyPort) }
                #expect(after.status == 502)
                #expect(!after.text.contains("impostor"))
            }
        }
    }

    /// The first answer through the proxy that is not 502: httpd binds a moment after launch.
    private static func firstAnswer(host: String, port: Int) async throws -> (status: Int, text: String) {
        var response = try await offThePool { try Self.get("/index.html", host: host, port: port) }
        for _ in 0..<100 where response.status == 502 {
            try await Task.sleep(for: .milliseconds(50))
            response = try await offThePool { try Self.get("/index.html", host: host, port: port) }
        }
        return response
    }

    /// A host process started with pid `pid`, by setting the last pid handed out just below it
    /// and spawning at once (posix_spawn: nothing else runs in between). Other processes may
    /// take the pid first: retried, bounded.
    private static func hostProcess(withPID pid: Int32, argv: [String]) throws -> Int32 {
        let arguments = argv.map { strdup($0) } + [nil]
        defer { arguments.forEach { free($0) } }
        for _ in 0..<200 {
            let last = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC)
            guard last >= 0 else { throw POSIXError(.EPERM) }
            let text = Array("\(pid - 1)".utf8)
            _ = write(last, text, text.count)
            close(last)
            var child: pid_t = 0
            guard posix_spawn(&child, argv[0], nil, nil, arguments, environ) == 0 else { throw POSIXError(.ENOEXEC) }
            if child == pid { return child }
            kill(child, SIGKILL)
            waitpid(child, nil, 0)
        }
        throw POSIXError(.EAGAIN)
    }

    private static func waitUntilListening(port: Int) throws {
        for _ in 0..<200 {
            if (try? RawClient(port: port)) != nil { return }
            usleep(10_000)
        }
        throw POSIXError(.ETIMEDOUT)
    }

    @Test func sandboxTargetWhoseNamespaceHasNoListenerIs502() async throws {
        try await ProxyFixture.with { fixture in
            // The test's own namespace, where nothing listens on the port (held, so no other
            // test's server can start listening there meanwhile).
            let reserved = try ReservedPort()
            defer { withExtendedLifetime(reserved) {} }
            let gone = Target.sandbox(try NetworkNamespace.of(ProcessHandle.attach(to: ProcessIdentity.of(pid: getpid())!)), port: reserved.port)
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
            #expect(fixture.proxy.metrics.render().contains(#"baton_proxy_upstream_errors_total{app="gone",kind="#))
        }
    }

    private static func get(_ path: String, host: String, port: Int) throws -> (status: Int, text: String) {
        let client = try RawClient(port: port)
        try client.send("GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n")
        let response = try client.readResponse()
        return (response.status, response.text)
    }
}
