import BatonProxy
import Foundation
import Testing

@Suite(.serialized) struct TimeoutAndDrainTests {
    @Test func slowUpstreamResponseIs504() async throws {
        try await ProxyFixture.with(configure: { $0.responseHeaderTimeout = .milliseconds(300) }) { fixture in
            let client = try fixture.client()
            try client.send("GET /slow/2000 HTTP/1.1\r\nHost: app.test\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 504)
            #expect(response.text.contains(response.header("x-request-id") ?? "missing"))
        }
    }

    @Test func upstreamResetBeforeResponseIs502() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            try client.send("GET /reset HTTP/1.1\r\nHost: app.test\r\n\r\n")
            #expect(try client.readResponse().status == 502)
        }
    }

    @Test func idleClientIsClosedAfterIdleTimeout() async throws {
        try await ProxyFixture.with(configure: { $0.idleTimeout = .milliseconds(300) }) { fixture in
            let client = try fixture.client()
            try client.send("GET /a HTTP/1.1\r\nHost: app.test\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            try await Task.sleep(for: .milliseconds(600))
            #expect(client.isClosed())
        }
    }

    @Test func drainWaitsForInFlightRequests() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            // Long enough to be seen in flight even when other suites keep this task waiting.
            try client.send("GET /slow/3000 HTTP/1.1\r\nHost: app.test\r\n\r\n")
            #expect(await eventually { fixture.proxy.inFlight(target: fixture.backendTarget) == 1 })
            // Drained means the count reached zero before the deadline: the drain waited for
            // the request rather than returning while it ran.
            let drained = await fixture.proxy.drain(target: fixture.backendTarget, deadline: .now + .seconds(10))
            #expect(drained)
            #expect(fixture.proxy.inFlight(target: fixture.backendTarget) == 0)
            #expect(try client.readResponse().text == "slow done")
        }
    }

    @Test func drainPastDeadlineClosesWhatIsLeft() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            try client.send("GET /slow/5000 HTTP/1.1\r\nHost: app.test\r\n\r\n")
            #expect(await eventually { fixture.proxy.inFlight(target: fixture.backendTarget) == 1 })
            let drained = await fixture.proxy.drain(target: fixture.backendTarget, deadline: .now + .milliseconds(200))
            #expect(!drained)
            let response = try client.readResponse()
            #expect(response.status == 502)
            #expect(await eventually { fixture.proxy.inFlight(target: fixture.backendTarget) == 0 })
        }
    }
}
