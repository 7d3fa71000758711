import BatonProxy
import Foundation
import Glibc
import Testing

/// A route that holds (a stop-first deploy): requests wait on their loop, go on in order to
/// what the next table routes to, and are answered 503 past the hold's timeout or cap.
@Suite(.serialized) struct HoldTests {
    /// The fixture's `app.test` held, still naming the backend as its target. The default
    /// timeout outlasts any wait of these tests on a machine busy with other suites: only the
    /// test of the timeout itself gives a short one.
    static func hold(_ fixture: ProxyFixture, timeout: Duration = .seconds(120), maxHeld: Int = RouteHold.defaultMaxHeld) {
        fixture.proxy.install(RouteTable([
            ("app.test", Route(app: "app", target: fixture.backendTarget, hold: RouteHold(timeout: timeout, maxHeld: maxHeld))),
            ("other.test", Route(app: "other", target: fixture.backendTarget)),
        ]))
    }

    static func release(_ fixture: ProxyFixture, target: Target?) {
        fixture.proxy.install(RouteTable([
            ("app.test", Route(app: "app", target: target)),
            ("other.test", Route(app: "other", target: fixture.backendTarget)),
        ]))
    }

    static func get(_ path: String, host: String = "app.test") -> String {
        "GET \(path) HTTP/1.1\r\nHost: \(host)\r\n\r\n"
    }

    @Test func heldRequestsWaitThenGoInTheirOrderToTheTargetInstalledNext() async throws {
        try await ProxyFixture.with(threads: 1) { fixture in
            Self.hold(fixture)
            var clients: [RawClient] = []
            for number in 1...5 {
                let client = try fixture.client()
                try client.send(Self.get("/\(number)"))
                clients.append(client)
                // Each is held before the next is sent, so their order is known.
                #expect(await eventually(within: .seconds(60)) { fixture.proxy.heldRequests(app: "app") == number })
            }
            let other = try fixture.client()
            try other.send(Self.get("/not-held", host: "other.test"))
            #expect(try other.readResponse().status == 200, "another app's requests are not held")
            #expect(fixture.backend.log.uris == ["/not-held"])

            Self.release(fixture, target: fixture.backendTarget)
            for (index, client) in clients.enumerated() {
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.text == "hello /\(index + 1)")
            }
            #expect(fixture.backend.log.uris == ["/not-held", "/1", "/2", "/3", "/4", "/5"])
            #expect(fixture.proxy.heldRequests(app: "app") == 0)
            // The connections go on as usual.
            try clients[0].send(Self.get("/again"))
            #expect(try clients[0].readResponse().text == "hello /again")
        }
    }

    @Test func aHeldRequestKeepsItsBodyAndItsPipelinedFollowersWait() async throws {
        try await ProxyFixture.with { fixture in
            Self.hold(fixture)
            let client = try fixture.client()
            let body = String(repeating: "x", count: 3000)
            try client.send("POST /upload HTTP/1.1\r\nHost: app.test\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)" + Self.get("/second"))
            #expect(await eventually(within: .seconds(60)) { fixture.proxy.heldRequests(app: "app") == 1 })
            Self.release(fixture, target: fixture.backendTarget)
            #expect(try client.readResponse().text == "received 3000")
            #expect(try client.readResponse().text == "hello /second")
            #expect(fixture.backend.log.uris == ["/upload", "/second"])
        }
    }

    /// Attack: a body over the cap sent while held. It is refused as it would be unheld, and
    /// nothing of it reaches the upstream.
    @Test func aHeldBodyOverTheCapIsRefusedAndTheConnectionCloses() async throws {
        try await ProxyFixture.with(configure: { $0.maxBodyBytes = 100 }) { fixture in
            Self.hold(fixture)
            let client = try fixture.client()
            let chunk = String(repeating: "y", count: 200)
            try client.send("POST /upload HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\nc8\r\n\(chunk)\r\n")
            let response = try client.readResponse()
            #expect(response.status == 413)
            #expect(client.isClosed())
            #expect(fixture.proxy.heldRequests(app: "app") == 0)
            Self.release(fixture, target: fixture.backendTarget)
            #expect(fixture.backend.log.uris.isEmpty)
        }
    }

    @Test func anotherTableThatStillHoldsKeepsTheRequestsHeld() async throws {
        try await ProxyFixture.with { fixture in
            Self.hold(fixture)
            let client = try fixture.client()
            try client.send(Self.get("/held"))
            #expect(await eventually(within: .seconds(60)) { fixture.proxy.heldRequests(app: "app") == 1 })
            Self.hold(fixture)
            let other = try fixture.client()
            try other.send(Self.get("/x", host: "other.test"))
            #expect(try other.readResponse().status == 200)
            #expect(fixture.proxy.heldRequests(app: "app") == 1)
            #expect(fixture.backend.log.uris == ["/x"])
            Self.release(fixture, target: fixture.backendTarget)
            #expect(try client.readResponse().text == "hello /held")
        }
    }

    @Test func aRequestHeldTooLongIs503AndItsConnectionGoesOn() async throws {
        try await ProxyFixture.with { fixture in
            Self.hold(fixture, timeout: .milliseconds(200))
            let client = try fixture.client()
            let started = ContinuousClock.now
            try client.send(Self.get("/late"))
            let response = try client.readResponse()
            #expect(response.status == 503)
            #expect(response.text.contains("request held too long: app app had no ready target within 0.2s"), "\(response.text)")
            #expect(ContinuousClock.now - started >= .milliseconds(200))
            #expect(fixture.proxy.heldRequests(app: "app") == 0)
            Self.release(fixture, target: fixture.backendTarget)
            try client.send(Self.get("/next"))
            #expect(try client.readResponse().text == "hello /next")
            #expect(fixture.backend.log.uris == ["/next"])
        }
    }

    /// Attack: a flood of requests while an app restarts. Past the cap each is answered 503 at
    /// once instead of pinning another connection.
    @Test func aFloodPastTheCapIsAnswered503AtOnce() async throws {
        try await ProxyFixture.with { fixture in
            Self.hold(fixture, maxHeld: 2)
            var held: [RawClient] = []
            for number in 1...2 {
                let client = try fixture.client()
                try client.send(Self.get("/\(number)"))
                held.append(client)
                #expect(await eventually(within: .seconds(60)) { fixture.proxy.heldRequests(app: "app") == number })
            }
            for _ in 0..<20 {
                let client = try fixture.client()
                try client.send(Self.get("/flood"))
                let response = try client.readResponse()
                #expect(response.status == 503)
                #expect(response.text.contains("too many requests held for app app (at most 2)"), "\(response.text)")
            }
            #expect(fixture.proxy.heldRequests(app: "app") == 2)
            Self.release(fixture, target: fixture.backendTarget)
            for client in held { #expect(try client.readResponse().status == 200) }
            #expect(!fixture.backend.log.uris.contains("/flood"))
        }
    }

    @Test func aClientThatResetsItsConnectionWhileHeldGivesUpItsPlace() async throws {
        try await ProxyFixture.with { fixture in
            Self.hold(fixture, maxHeld: 1)
            var leaving: RawClient? = try fixture.client()
            try leaving?.send(Self.get("/gone"))
            #expect(await eventually(within: .seconds(60)) { fixture.proxy.heldRequests(app: "app") == 1 })
            var reset = linger(l_onoff: 1, l_linger: 0)
            setsockopt(leaving!.fd, SOL_SOCKET, SO_LINGER, &reset, socklen_t(MemoryLayout<linger>.size))
            leaving = nil
            #expect(await eventually(within: .seconds(60)) { fixture.proxy.heldRequests(app: "app") == 0 })
            let client = try fixture.client()
            try client.send(Self.get("/stays"))
            #expect(await eventually(within: .seconds(60)) { fixture.proxy.heldRequests(app: "app") == 1 })
            Self.release(fixture, target: fixture.backendTarget)
            #expect(try client.readResponse().text == "hello /stays")
            #expect(fixture.backend.log.uris == ["/stays"])
        }
    }

    /// A client may send its request and shut its write side: it still gets the answer, held
    /// or not (so a client that closes altogether keeps its place until the release or timeout).
    @Test func aClientThatShutsItsWriteSideWhileHeldStillGetsTheAnswer() async throws {
        try await ProxyFixture.with { fixture in
            Self.hold(fixture)
            let client = try fixture.client()
            try client.send(Self.get("/half"))
            shutdown(client.fd, Int32(SHUT_WR))
            #expect(await eventually(within: .seconds(60)) { fixture.proxy.heldRequests(app: "app") == 1 })
            Self.release(fixture, target: fixture.backendTarget)
            #expect(try client.readResponse().text == "hello /half")
        }
    }

    @Test func releasedToNoTargetIs503AndToNoRouteIs404() async throws {
        try await ProxyFixture.with { fixture in
            Self.hold(fixture)
            let first = try fixture.client()
            try first.send(Self.get("/a"))
            #expect(await eventually(within: .seconds(60)) { fixture.proxy.heldRequests(app: "app") == 1 })
            Self.release(fixture, target: nil)
            let response = try first.readResponse()
            #expect(response.status == 503)
            #expect(response.text.contains("app app has no ready target"))

            Self.hold(fixture)
            let second = try fixture.client()
            try second.send(Self.get("/b"))
            #expect(await eventually(within: .seconds(60)) { fixture.proxy.heldRequests(app: "app") == 1 })
            fixture.proxy.install(RouteTable([("other.test", Route(app: "other", target: fixture.backendTarget))]))
            #expect(try second.readResponse().status == 404)
            #expect(fixture.backend.log.uris.isEmpty)
        }
    }

    @Test func aShutdownClosesHeldRequestsAndLaterTablesScheduleNothing() async throws {
        let fixture = try await ProxyFixture()
        Self.hold(fixture)
        let client = try fixture.client()
        try client.send(Self.get("/held"))
        #expect(await eventually(within: .seconds(60)) { fixture.proxy.heldRequests(app: "app") == 1 })
        await fixture.stop()
        #expect(fixture.proxy.heldRequests(app: "app") == 0)
        #expect(client.isClosed())
        // Installing after the shutdown schedules nothing on the loops that are gone.
        fixture.proxy.install(RouteTable([("app.test", Route(app: "app", target: nil))]))
    }
}
