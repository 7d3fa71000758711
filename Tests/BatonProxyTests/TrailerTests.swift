import Foundation
import Testing

/// Trailer sections pass through the proxy both ways (gRPC-web, checksums computed while
/// streaming), minus the fields a trailer must not carry.
@Suite struct TrailerTests {
    @Test func responseTrailersReachTheClientWithoutFramingFields() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            try client.send("GET /trailers HTTP/1.1\r\nHost: app.test\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.text == "data")
            #expect(response.header("trailer") == "x-checksum", "the Trailer field announces what comes")
            #expect(response.trailers.map(\.0) == ["x-checksum", "x-done"], "\(response.trailers)")
            #expect(response.trailers.first?.1 == "abc123")
            // The connection stays usable: a trailer cannot close it.
            try client.send("GET /again HTTP/1.1\r\nHost: app.test\r\n\r\n")
            #expect(try client.readResponse().text == "hello /again")
        }
    }

    @Test func anHTTP10ClientGetsTheBodyWithoutChunksOrTrailerField() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            try client.send("GET /trailers HTTP/1.0\r\nHost: app.test\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.text == "data")
            #expect(response.header("trailer") == nil)
            #expect(response.trailers.isEmpty)
        }
    }

    @Test func requestTrailersReachTheUpstreamWithoutFramingFields() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            try client.send("POST /upload HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\nTrailer: x-signature\r\n\r\n")
            try client.send("5\r\nhello\r\n0\r\nX-Signature: s1\r\nHost: evil.test\r\nTE: trailers\r\n\r\n")
            #expect(try client.readResponse().text == "received 5")
            let recorded = try #require(fixture.backend.log.requests.last)
            #expect(recorded.header("trailer") == "x-signature")
            #expect(recorded.trailers.map { $0.0.lowercased() } == ["x-signature"], "\(recorded.trailers)")
        }
    }

    /// The response starts before the request ends (a streaming call): the request's end must
    /// not put the exchange back to waiting for a head, or the response's end (and its
    /// trailers) would be taken for an event out of place and answered 500.
    @Test func aResponseThatStartedBeforeTheRequestEndedEndsCleanly() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            try client.send("POST /answer-first HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n")
            #expect(try client.readLine() == "HTTP/1.1 200 OK")
            try client.send("5\r\nhello\r\n0\r\n\r\n")
            var rest: [UInt8] = []
            while true {
                let more = client.readSome()
                if more.isEmpty { break }
                rest += more
            }
            let text = String(decoding: rest, as: UTF8.self)
            #expect(text.hasSuffix("5\r\nfirst\r\n0\r\n\r\n"), "\(text)")
            #expect(!text.contains("500"))
        }
    }

    @Test func aContentLengthInRequestTrailersIsRefused() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            try client.send("POST /upload HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n")
            try client.send("5\r\nhello\r\n0\r\nContent-Length: 7\r\n\r\n")
            #expect(try client.readResponse().status == 400)
        }
    }
}
