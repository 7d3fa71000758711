import BatonProxy
import Testing

/// The upstream pool of an event loop: a keep-alive client's requests reuse one upstream
/// connection per target, whichever target the one before went to, and a drain closes the
/// pooled connections of its target however recently they were used.
@Suite struct UpstreamPoolTests {
    @Test func requestsAlternatingBetweenTwoTargetsReuseOneConnectionEach() async throws {
        // One event loop, so that every request meets the same pool.
        try await ProxyFixture.with(threads: 1) { fixture in
            let green = try await TestBackend()
            defer { Task { await green.stop() } }
            fixture.proxy.install(RouteTable([
                ("app.test", Route(app: "app", target: fixture.backendTarget)),
                ("green.test", Route(app: "green", target: .address(host: "127.0.0.1", port: green.port))),
            ]))
            let client = try fixture.client()
            for round in 0..<4 {
                for host in ["app.test", "green.test"] {
                    try client.send("GET /\(host)/\(round) HTTP/1.1\r\nHost: \(host)\r\n\r\n")
                    #expect(try client.readResponse().status == 200)
                }
            }
            #expect(fixture.backend.log.uris == (0..<4).map { "/app.test/\($0)" })
            #expect(green.log.uris == (0..<4).map { "/green.test/\($0)" })
            #expect(fixture.backend.log.connectionsAccepted == 1)
            #expect(green.log.connectionsAccepted == 1)
        }
    }

    @Test func aDrainClosesThePooledConnectionMadeAfterTheDrainBefore() async throws {
        try await ProxyFixture.with(threads: 1) { fixture in
            let client = try fixture.client()
            for round in 0..<2 {
                try client.send("GET /before-drain-\(round) HTTP/1.1\r\nHost: app.test\r\n\r\n")
                #expect(try client.readResponse().status == 200)
                #expect(await eventually { fixture.backend.log.connectionsOpen == 1 })
                await fixture.proxy.drain(target: fixture.backendTarget, deadline: .now + .seconds(30))
                #expect(await eventually { fixture.backend.log.connectionsOpen == 0 })
            }
            #expect(fixture.backend.log.connectionsAccepted == 2)
        }
    }
}
