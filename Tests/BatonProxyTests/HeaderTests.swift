import BatonProxy
import Testing

@Suite(.serialized) struct HeaderTests {
    @Test func addsForwardedHeadersAndKeepsHost() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            try client.send("GET /h HTTP/1.1\r\nHost: app.test:9\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 200)
            let seen = try #require(fixture.backend.log.requests.first)
            #expect(seen.header("host") == "app.test:9")
            #expect(seen.header("x-forwarded-for") == "127.0.0.1", "the chain starts at the proxy")
            #expect(seen.header("x-forwarded-proto") == "http")
            #expect(seen.header("x-forwarded-host") == "app.test:9")
            #expect((seen.header("x-request-id") ?? "").count >= 16)
        }
    }

    @Test func keepsClientRequestIdAndRemovesHopByHopHeaders() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            try client.send(
                "GET /h HTTP/1.1\r\nHost: app.test\r\nX-Request-Id: abc-123\r\nConnection: keep-alive, X-Secret\r\n"
                    + "X-Secret: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Connection: x\r\nUpgrade: h2c\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.header("keep-alive") == nil)
            let seen = try #require(fixture.backend.log.requests.first)
            #expect(seen.header("x-request-id") == "abc-123")
            for name in ["connection", "x-secret", "keep-alive", "te", "proxy-connection", "upgrade"] {
                #expect(seen.header(name) == nil, "\(name) must not reach the upstream")
            }
        }
    }

    @Test func http10ClientGetsResponseAndClose() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            try client.send("GET /old HTTP/1.0\r\nHost: app.test\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.text == "hello /old")
            #expect(client.isClosed())
        }
    }
}
