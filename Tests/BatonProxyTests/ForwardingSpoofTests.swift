@testable import BatonProxy
import NIOHTTP1
import Testing

/// A client that claims another address, scheme or host through forwarding headers must not
/// reach the upstream with the claim: Baton is the edge, so the upstream sees only what the
/// proxy itself set.
@Suite(.serialized) struct ForwardingSpoofTests {
    /// Sends one request with `extra` header lines and returns what the backend received.
    func upstreamSees(_ extra: String, host: String = "app.test") async throws -> RecordedRequest {
        var seen: RecordedRequest?
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            try client.send("GET /who HTTP/1.1\r\nHost: \(host)\r\n\(extra)\r\n")
            #expect(try client.readResponse().status == 200)
            seen = fixture.backend.log.requests.first
        }
        return try #require(seen)
    }

    @Test func aClientThatSendsXRealIPDoesNotReachTheUpstreamWithIt() async throws {
        let seen = try await upstreamSees("X-Real-IP: 1.2.3.4\r\n")
        #expect(seen.headers("x-real-ip") == ["127.0.0.1"])
    }

    @Test func aClientCannotPrependAnAddressToXForwardedFor() async throws {
        let seen = try await upstreamSees("X-Forwarded-For: 1.2.3.4\r\nX-Forwarded-For: 5.6.7.8\r\n")
        #expect(seen.headers("x-forwarded-for") == ["127.0.0.1"])
    }

    @Test func aClientThatSendsForwardedDoesNotReachTheUpstreamWithIt() async throws {
        let seen = try await upstreamSees("Forwarded: for=1.2.3.4;proto=https;host=admin.test\r\n")
        #expect(seen.headers("forwarded") == ["for=127.0.0.1;proto=http;host=app.test"])
    }

    @Test func aClientCannotClaimHTTPSOrAnotherHostOrPort() async throws {
        let seen = try await upstreamSees(
            "X-Forwarded-Proto: https\r\nX-Forwarded-Host: admin.test\r\nX-Forwarded-Ssl: on\r\n"
                + "X-Forwarded-Port: 443\r\nX-Forwarded-Scheme: https\r\n")
        #expect(seen.headers("x-forwarded-proto") == ["http"])
        #expect(seen.headers("x-forwarded-host") == ["app.test"])
        for name in ["x-forwarded-ssl", "x-forwarded-port", "x-forwarded-scheme"] {
            #expect(seen.header(name) == nil, "\(name) from the client reached the upstream")
        }
    }

    @Test func underscoreSpellingsOfForwardingHeadersDoNotReachTheUpstream() async throws {
        let seen = try await upstreamSees(
            "X_Forwarded_For: 1.2.3.4\r\nX_Real_IP: 1.2.3.4\r\nx_forwarded_proto: https\r\n"
                + "X_FORWARDED_HOST: admin.test\r\nX-Forwarded_For: 1.2.3.4\r\nX_Request_Id: forged\r\n")
        let names = seen.headers.map { $0.0.lowercased() }
        #expect(!names.contains { $0.contains("_") }, "\(names)")
        #expect(seen.headers("x-forwarded-for") == ["127.0.0.1"])
        #expect(seen.headers("x-real-ip") == ["127.0.0.1"])
    }

    @Test func forwardedQuotesAHostWithAPortAndBracketsAnIPv6Client() {
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/", headers: ["Host": "app.test:8080"])
        let client = ForwardedHeaders.Client(ip: "2001:db8::1", proto: "http")
        let out = ForwardedHeaders.upstreamRequest(RequestHead(head), uri: "/", forwarding: { client.forwardingFields(host: $0) }, requestID: "r", upgrade: false)
        #expect(out.headers["forwarded"] == ["for=\"[2001:db8::1]\";proto=http;host=\"app.test:8080\""])
        #expect(out.headers["x-forwarded-for"] == ["2001:db8::1"])
        #expect(ForwardedHeaders.Client(ip: "-", proto: "http").forwarded == "for=unknown;proto=http")
    }

    @Test func requestTrailersCannotSmuggleForwardingHeadersToTheUpstream() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            try client.send("POST /upload HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n")
            try client.send(
                "X-Forwarded-For: 1.2.3.4\r\nX-Real-IP: 1.2.3.4\r\nForwarded: for=1.2.3.4\r\nX_Forwarded_Host: a\r\n"
                    + "X-Forwarded-Proto: https\r\nHost: admin.test\r\nX-Signature: s1\r\n\r\n")
            #expect(try client.readResponse().text == "received 5")
            let recorded = try #require(fixture.backend.log.requests.last)
            #expect(recorded.trailers.map { $0.0.lowercased() } == ["x-signature"], "\(recorded.trailers)")
        }
    }

    @Test func responseTrailersCannotCarryForwardingHeadersToTheClient() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            try client.send("GET /trailers HTTP/1.1\r\nHost: app.test\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.trailers.map(\.0) == ["x-checksum", "x-done"], "\(response.trailers)")
        }
    }
}
