import BatonProxy
import Foundation
import Testing

/// Attacks on message framing (RFC 9112): each must be refused with the right status, the
/// connection closed, and nothing smuggled in the body may ever reach the backend.
@Suite(.serialized) struct HostileHTTPTests {
    /// Sends `request`, expects `status` and a closed connection, and that `/smuggled` never
    /// reached the backend.
    func expectRefused(_ request: String, status: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client(timeout: 5)
            try client.send(request)
            let response = try client.readResponse()
            #expect(response.status == status, sourceLocation: sourceLocation)
            #expect(response.header("x-request-id") != nil, sourceLocation: sourceLocation)
            #expect(client.isClosed(), "connection must be closed", sourceLocation: sourceLocation)
            try await Task.sleep(for: .milliseconds(100))
            #expect(!fixture.backend.log.uris.contains("/smuggled"), sourceLocation: sourceLocation)
        }
    }

    static let smuggled = "GET /smuggled HTTP/1.1\r\nHost: app.test\r\n\r\n"

    @Test func contentLengthWithTransferEncodingIs400() async throws {
        let body = "0\r\n\r\n" + Self.smuggled
        try await expectRefused(
            "POST /x HTTP/1.1\r\nHost: app.test\r\nContent-Length: \(body.utf8.count)\r\nTransfer-Encoding: chunked\r\n\r\n" + body,
            status: 400)
    }

    @Test func twoDifferentContentLengthsAre400() async throws {
        try await expectRefused(
            "POST /x HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\nContent-Length: 48\r\n\r\nhello" + Self.smuggled,
            status: 400)
    }

    @Test func contentLengthListWithDifferentValuesIs400() async throws {
        try await expectRefused(
            "POST /x HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5, 48\r\n\r\nhello" + Self.smuggled, status: 400)
    }

    @Test func unknownTransferCodingIs501() async throws {
        try await expectRefused(
            "POST /x HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: foo\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + Self.smuggled,
            status: 501)
    }

    @Test func unsupportedCodingBeforeChunkedIs501() async throws {
        try await expectRefused(
            "POST /x HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + Self.smuggled,
            status: 501)
    }

    @Test func badChunkSizeIs400() async throws {
        try await expectRefused(
            "POST /x HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n" + Self.smuggled,
            status: 400)
    }

    @Test func whitespaceBeforeHeaderColonIs400() async throws {
        try await expectRefused(
            "POST /x HTTP/1.1\r\nHost: app.test\r\nContent-Length : 40\r\n\r\n" + Self.smuggled, status: 400)
    }

    @Test func missingHostOnHTTP11Is400() async throws {
        try await expectRefused("GET /x HTTP/1.1\r\nUser-Agent: t\r\n\r\n", status: 400)
    }

    @Test func twoHostHeadersAre400() async throws {
        try await expectRefused("GET /x HTTP/1.1\r\nHost: app.test\r\nHost: other.test\r\n\r\n", status: 400)
    }

    @Test func garbageIs400() async throws {
        try await expectRefused("\u{1}\u{2}garbage garbage\r\n\r\n", status: 400)
    }

    @Test func obsoleteLineFoldingIs400() async throws {
        try await expectRefused("GET /x HTTP/1.1\r\nHost: app.test\r\nX-A: 1\r\n folded\r\n\r\n", status: 400)
    }

    @Test func headerBlockOver64KiBIs431() async throws {
        let big = String(repeating: "a", count: 70 * 1024)
        try await expectRefused("GET /x HTTP/1.1\r\nHost: app.test\r\nX-Big: \(big)\r\n\r\n", status: 431)
    }

    @Test func bodyOverCapIs413() async throws {
        try await ProxyFixture.with(configure: { $0.maxBodyBytes = 10 }) { fixture in
            let client = try fixture.client(timeout: 5)
            try client.send("POST /upload HTTP/1.1\r\nHost: app.test\r\nContent-Length: 11\r\n\r\nhello world")
            #expect(try client.readResponse().status == 413)
            #expect(client.isClosed())
            #expect(fixture.backend.log.requests.isEmpty)
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            var batch = ""
            for index in 0..<10 {
                let path = index % 3 == 0 ? "/slow/30?\(index)" : "/p\(index)"
                batch += "GET \(path) HTTP/1.1\r\nHost: \(index == 5 ? "nobody.test" : "app.test")\r\n\r\n"
            }
            try client.send(batch)
            for index in 0..<10 {
                let response = try client.readResponse()
                if index == 5 {
                    #expect(response.status == 404)
                } else if index % 3 == 0 {
                    #expect(response.text == "slow done")
                } else {
                    #expect(response.text == "hello /p\(index)")
                }
            }
        }
    }

    @Test func pipelinedGarbageAfterValidRequestAnswersFirstThen400() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            try client.send("GET /first HTTP/1.1\r\nHost: app.test\r\n\r\nNOT HTTP AT ALL\r\n\r\n")
            #expect(try client.readResponse().text == "hello /first")
            #expect(try client.readResponse().status == 400)
            #expect(client.isClosed())
        }
    }

    @Test func slowHeaderClientsDoNotDelayANormalRequest() async throws {
        try await ProxyFixture.with(configure: { $0.clientHeaderTimeout = .seconds(5) }) { fixture in
            var slow: [RawClient] = []
            for _ in 0..<300 {
                let client = try fixture.client()
                try client.send("GET /slowloris HTTP/1.1\r\nHost: app.test\r\nX-A: ")
                slow.append(client)
            }
            let client = try fixture.client()
            try client.send("GET /normal HTTP/1.1\r\nHost: app.test\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            // Answered while every dribbler still holds its connection: the normal request
            // waited for none of them to be cut off (an order, not a time limit).
            #expect(slow.allSatisfy { $0.isOpenNow() })
            // The dribblers are cut off by the header timeout.
            try await Task.sleep(for: .seconds(5.5))
            #expect(slow[0].isClosed())
            #expect(!fixture.backend.log.uris.contains("/slowloris"))
        }
    }
}
