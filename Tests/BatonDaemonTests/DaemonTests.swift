import BatonControl
import BatonDaemon
import BatonOS
import BatonProxy
import Foundation
import Testing

@Suite(.serialized) struct DaemonTests {
    @Test func upstreamAppIsCreatedListedRoutedAndRemoved() async throws {
        try await DaemonFixture.with { fixture in
            let backend = try EchoBackend()
            defer { backend.stop() }
            let created = try await fixture.client.createApp(AppSpec(name: "web", hosts: ["web.test", "*.web.test"], upstream: "127.0.0.1:\(backend.port)"))
            #expect(created.kind == .upstream)
            #expect(created.hosts == ["*.web.test", "web.test"])
            #expect(created.digest == nil)
            #expect(try await fixture.client.listApps().map(\.name) == ["web"])
            #expect(try await fixture.get("/x", host: "web.test") == (200, "hello /x"))
            #expect(try await fixture.get("/y", host: "pr-1.web.test:8080") == (200, "hello /y"))
            try await fixture.client.removeApp(named: "web")
            #expect(try await fixture.get("/z", host: "web.test").status == 404)
            #expect(backend.paths == ["/x", "/y"])
        }
    }

    @Test func appWithoutDeployIsServed503() async throws {
        try await DaemonFixture.with { fixture in
            _ = try await fixture.client.createApp(AppSpec(name: "blog", hosts: ["blog.test"], port: 8000))
            #expect(try await fixture.get("/", host: "blog.test").status == 503)
            #expect(try await fixture.client.app(named: "blog").kind == .sandbox)
        }
    }

    @Test func userMistakesGetOneClearErrorAndChangeNothing() async throws {
        try await DaemonFixture.with { fixture in
            _ = try await fixture.client.createApp(AppSpec(name: "one", hosts: ["one.test"], upstream: "127.0.0.1:9"))
            let taken = await #expect(throws: BatonError.self) {
                try await fixture.client.createApp(AppSpec(name: "two", hosts: ["two.test", "one.test"], upstream: "127.0.0.1:9"))
            }
            #expect(taken?.code == .conflict)
            #expect(taken?.message == "host one.test is already used by app one")
            let again = await #expect(throws: BatonError.self) {
                try await fixture.client.createApp(AppSpec(name: "one", hosts: ["x.test"], upstream: "127.0.0.1:9"))
            }
            #expect(again?.code == .conflict)
            for bad in [AppSpec(name: "Bad_Name", hosts: ["a.test"]), AppSpec(name: "ok", hosts: ["no spaces.test"]),
                        AppSpec(name: "ok", hosts: ["a.test"], upstream: "nowhere")] {
                let error = await #expect(throws: BatonError.self) { try await fixture.client.createApp(bad) }
                #expect(error?.code == .invalidArgument)
            }
            let missing = await #expect(throws: BatonError.self) { try await fixture.client.removeApp(named: "ghost") }
            #expect(missing?.code == .notFound)
            #expect(try await fixture.client.listApps().map(\.name) == ["one"])
        }
    }

    @Test func appsSurviveRestart() async throws {
        try await DaemonFixture.with { fixture in
            let backend = try EchoBackend()
            defer { backend.stop() }
            _ = try await fixture.client.createApp(AppSpec(name: "keep", hosts: ["keep.test"], upstream: "127.0.0.1:\(backend.port)"))
            try await fixture.restart()
            #expect(try await fixture.client.listApps().map(\.name) == ["keep"])
            #expect(try await fixture.get("/after", host: "keep.test") == (200, "hello /after"))
        }
    }

    @Test func stateIsReadableWithoutACleanShutdown() throws {
        // What kill -9 leaves: committed transactions in the WAL, no checkpoint, no close.
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("baton-db-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let first = try StateDatabase(path: root + "/state.db")
        let second = try StateDatabase(path: root + "/state.db")
        let migrations = ["v1: apps and hosts", "v2: sandboxes and deployments", "v3: previews", "v4: app configuration", "v5: volumes and strategy", "v6: app networks", "v7: proxy settings",
                          "v8: smoke checks", "v9: verify reports", "v10: bake window", "v11: long-lived connections", "v12: replicas"].sorted()
        #expect(try first.appliedMigrations() == migrations)
        #expect(try second.appliedMigrations() == migrations)
    }

    @Test func noDaemonSaysHowToStartOne() {
        let client = ControlClient(socketPath: "/tmp/baton-none-\(UUID().uuidString)/baton.sock")
        let error = #expect(throws: BatonError.self) { try client.listApps() }
        #expect(error?.message == "no daemon at \(client.socketPath): start one with 'baton daemon'")
    }

    @Test func controlSocketIsMode0660() async throws {
        try await DaemonFixture.with { fixture in
            let attributes = try FileManager.default.attributesOfItem(atPath: fixture.root + "/baton.sock")
            #expect((attributes[.posixPermissions] as? Int) == 0o660)
        }
    }

    @Test func metricsCountRequestsByAppAndStatus() async throws {
        try await DaemonFixture.with { fixture in
            let backend = try EchoBackend()
            defer { backend.stop() }
            _ = try await fixture.client.createApp(AppSpec(name: "m", hosts: ["m.test"], upstream: "127.0.0.1:\(backend.port)"))
            _ = try await fixture.get("/", host: "m.test")
            let text = try await fixture.client.metrics()
            #expect(text.contains(#"baton_proxy_requests_total{app="m",status="200"} 1"#))
            #expect(text.contains("baton_proxy_request_duration_seconds_bucket"))
            #expect(text.contains("baton_proxy_in_flight_requests"))
        }
    }

    @Test func smugglingAttemptThroughDaemonNeverReachesBackend() async throws {
        try await DaemonFixture.with { fixture in
            let backend = try EchoBackend()
            defer { backend.stop() }
            _ = try await fixture.client.createApp(AppSpec(name: "s", hosts: ["s.test"], upstream: "127.0.0.1:\(backend.port)"))
            let smuggled = "GET /smuggled HTTP/1.1\r\nHost: s.test\r\n\r\n"
            let body = "0\r\n\r\n" + smuggled
            let reply = try RawHTTP.exchange(
                port: fixture.port,
                "POST / HTTP/1.1\r\nHost: s.test\r\nContent-Length: \(body.utf8.count)\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
            #expect(RawHTTP.parse(reply).status == 400)
            #expect(backend.paths.isEmpty)
        }
    }

    @Test func secondDaemonOnTheSameRootIsRefused() async throws {
        try await DaemonFixture.with { (fixture: DaemonFixture) async throws in
            var options = Daemon.Options(root: fixture.root)
            options.listenPort = 0
            options.accessLog = false
            let refusal = #expect(throws: BatonError.self) { _ = try Daemon(options: options) }
            #expect(refusal?.code == .conflict)
            #expect(refusal?.message == "root \(fixture.root) is in use by another baton daemon (pid \(getpid())): stop it first or choose another --root")
            #expect(try await fixture.client.listApps().isEmpty)
        }
    }

    /// A client streams a body far over the control API's limit: it gets one answer, and the
    /// connection closes; no answer per extra chunk.
    @Test func aBodyOverTheLimitIsAnsweredOnceAndTheConnectionClosed() async throws {
        try await DaemonFixture.with { fixture in
            let socket = fixture.root + "/baton.sock"
            let reply = try await offThePool { () throws -> String in
                guard let fd = ClientSwarm.connect(.unix(socket)) else { throw DaemonProcessError("cannot connect to \(socket)") }
                defer { close(fd) }
                let size = 4 << 20
                let head = Array("POST /v1/apps HTTP/1.1\r\nHost: baton\r\nContent-Length: \(size)\r\n\r\n".utf8)
                _ = send(fd, head, head.count, Int32(MSG_NOSIGNAL))
                let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 64 << 10)
                var sent = 0
                while sent < size, send(fd, chunk, chunk.count, Int32(MSG_NOSIGNAL)) > 0 { sent += chunk.count }
                var received: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 65536)
                let deadline = Date().addingTimeInterval(10)
                while Date() < deadline {
                    let count = recv(fd, &buffer, buffer.count, 0)
                    if count > 0 { received += buffer[..<count] } else if count == 0 || (errno != EAGAIN && errno != EINTR) { break }
                }
                return String(decoding: received, as: UTF8.self)
            }
            #expect(reply.components(separatedBy: "HTTP/1.1 ").count == 2, "\(reply)")
            #expect(reply.hasPrefix("HTTP/1.1 400"))
            #expect(reply.contains("request body larger than 1048576 bytes"))
            #expect(try await fixture.client.listApps().isEmpty)
        }
    }
}
