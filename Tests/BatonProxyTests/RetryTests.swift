import BatonProxy
import Testing

/// When a pooled upstream connection dies under a request, the upstream may already have run
/// it: only a request that may run twice is sent again.
@Suite(.serialized) struct RetryTests {
    @Test func aBodylessPostIsNotRunTwiceWhenItsPooledConnectionDies() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            try client.send("POST /drop-reused HTTP/1.1\r\nHost: app.test\r\nContent-Length: 0\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            // The second POST goes out on the pooled connection; the upstream logs it and closes.
            try client.send("POST /drop-reused HTTP/1.1\r\nHost: app.test\r\nContent-Length: 0\r\n\r\n")
            #expect(try client.readResponse().status == 502)
            #expect(fixture.backend.log.requests.map(\.method) == ["POST", "POST"], "the upstream ran the POST twice")
        }
    }

    @Test func aGetIsRetriedOnceOnAFreshConnection() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            try client.send("GET /drop-reused HTTP/1.1\r\nHost: app.test\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            try client.send("GET /drop-reused HTTP/1.1\r\nHost: app.test\r\n\r\n")
            #expect(try client.readResponse().text == "hello /drop-reused")
            #expect(fixture.backend.log.requests.count == 3)
        }
    }

    @Test func aPutWhoseBodyWasSentIsNotRetried() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            try client.send("PUT /drop-reused HTTP/1.1\r\nHost: app.test\r\nContent-Length: 0\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            try client.send("PUT /drop-reused HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\n\r\nhello")
            #expect(try client.readResponse().status == 502)
            #expect(fixture.backend.log.requests.count == 2)
        }
    }
}
