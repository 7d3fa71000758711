import BatonProxy
import Foundation
import Glibc
import Testing

/// The h2c connections themselves: one per event loop and target, streams multiplexed on it
/// up to the app's SETTINGS_MAX_CONCURRENT_STREAMS; what an app that breaks the connection,
/// sends GOAWAY or oversized headers gets (that request fails, the next one is served on a new
/// connection); and drains and the idle timeout closing them.
@Suite(.serialized, .enabled(if: H2CServer.available, "requires /usr/bin/python3 with python3-h2"))
struct H2CConnectionTests {
    /// Twenty requests at once, from twenty client connections, on one event loop: the app
    /// holds every answer until it has all twenty streams open, over one connection.
    @Test func concurrentRequestsShareOneConnection() async throws {
        try await H2CFixture.with(threads: 1) { fixture in
            let clients = try (0..<20).map { _ in try fixture.client() }
            for client in clients { try client.send("GET /hold?n=20 HTTP/1.1\r\nHost: grpc.test\r\n\r\n") }
            for client in clients {
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.text == "held 20")
            }
            let stats = try fixture.server.stats
            #expect(stats.connections == 1, "\(stats)")
            #expect(stats.maxConcurrent == 20)
        }
    }

    /// The app takes five streams at once: the sixth request goes on a second connection
    /// rather than waiting behind the first five.
    @Test func theAppsStreamLimitOpensAnotherConnection() async throws {
        try await H2CFixture.with(maxStreams: 5, threads: 1) { fixture in
            // The first connection is made, and its SETTINGS known, before the rush.
            let warm = try fixture.client()
            try warm.send("GET /warm HTTP/1.1\r\nHost: grpc.test\r\n\r\n")
            #expect(try warm.readResponse().text == "hello /warm")
            let clients = try (0..<10).map { _ in try fixture.client() }
            for client in clients { try client.send("GET /hold?n=10 HTTP/1.1\r\nHost: grpc.test\r\n\r\n") }
            for client in clients { #expect(try client.readResponse().text == "held 10") }
            let stats = try fixture.server.stats
            #expect(stats.connections == 2, "\(stats)")
            #expect(stats.maxConcurrent == 5)
        }
    }

    /// The app's connection breaks after the response started: that client's connection is
    /// closed (its response is cut short), and the next request gets a new connection.
    @Test(arguments: ["/drop-mid", "/goaway-mid"])
    func aConnectionLostMidResponseFailsOnlyThatRequest(path: String) async throws {
        try await H2CFixture.with(threads: 1) { fixture in
            let client = try fixture.client()
            try client.send("GET \(path) HTTP/1.1\r\nHost: grpc.test\r\n\r\n")
            #expect(throws: (any Error).self) { try client.readResponse() }
            let next = try fixture.client()
            try next.send("GET /after HTTP/1.1\r\nHost: grpc.test\r\n\r\n")
            #expect(try next.readResponse().text == "hello /after")
            #expect(try fixture.server.stats.connections == 2)
        }
    }

    /// GOAWAY naming an earlier stream as the last one the app took: the request was never
    /// run, and the client is answered 502 before anything of a response.
    @Test func aGoawayBeforeTheResponseIs502() async throws {
        try await H2CFixture.with(threads: 1) { fixture in
            let client = try fixture.client()
            try client.send("POST /goaway-before HTTP/1.1\r\nHost: grpc.test\r\nContent-Length: 1\r\n\r\nx")
            #expect(try client.readResponse().status == 502)
            let next = try fixture.client()
            try next.send("GET /after HTTP/1.1\r\nHost: grpc.test\r\n\r\n")
            #expect(try next.readResponse().text == "hello /after")
        }
    }

    /// An app sends a response header block past the proxy's 64 KiB limit: 502, and the
    /// proxy goes on serving.
    @Test func oversizedResponseHeadersAre502() async throws {
        try await H2CFixture.with(threads: 1) { fixture in
            let client = try fixture.client()
            try client.send("GET /huge-headers HTTP/1.1\r\nHost: grpc.test\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 502)
            #expect(response.header("x-huge") == nil)
            let next = try fixture.client()
            try next.send("GET /after HTTP/1.1\r\nHost: grpc.test\r\n\r\n")
            #expect(try next.readResponse().text == "hello /after")
        }
    }

    /// A thousand GOAWAY frames on one connection: each only retires the connection, so the
    /// flood costs its app a new connection, and the proxy serves on.
    @Test func aGoawayFloodRetiresOnlyThatConnection() async throws {
        try await H2CFixture.with(threads: 1) { fixture in
            let client = try fixture.client()
            try client.send("GET /goaway-flood HTTP/1.1\r\nHost: grpc.test\r\n\r\n")
            let flooded = try client.readResponse()
            #expect(flooded.status == 200 || flooded.status == 502, "answered or refused, never hung: \(flooded.status)")
            let next = try fixture.client()
            try next.send("GET /after HTTP/1.1\r\nHost: grpc.test\r\n\r\n")
            #expect(try next.readResponse().text == "hello /after")
            #expect(try fixture.server.stats.connections == 2, "the flooded connection took no new stream")
        }
    }

    /// A stream the app never answers: 504 at the response timeout, and the stream is reset
    /// rather than left open on the connection.
    @Test func aStreamTheAppNeverAnswersIs504() async throws {
        try await H2CFixture.with(threads: 1, configure: { $0.responseHeaderTimeout = .milliseconds(300) }) { fixture in
            let client = try fixture.client()
            try client.send("GET /hold?n=99 HTTP/1.1\r\nHost: grpc.test\r\n\r\n")
            #expect(try client.readResponse().status == 504)
            #expect(try await fixture.stats { $0.resets == 1 }.resets == 1, "the stream given up on is reset")
            try client.send("GET /after HTTP/1.1\r\nHost: grpc.test\r\n\r\n")
            #expect(try client.readResponse().text == "hello /after")
            #expect(try fixture.server.stats.connections == 1, "the connection goes on")
        }
    }

    /// A response head HTTP/2 forbids (an upper-case name, a connection-specific field): 502,
    /// nothing of it reaches the client, and the proxy goes on.
    @Test func aMalformedResponseHeadIs502() async throws {
        try await H2CFixture.with(threads: 1) { fixture in
            let client = try fixture.client()
            try client.send("GET /malformed HTTP/1.1\r\nHost: grpc.test\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 502)
            #expect(response.header("x-upper") == nil)
            let next = try fixture.client()
            try next.send("GET /after HTTP/1.1\r\nHost: grpc.test\r\n\r\n")
            #expect(try next.readResponse().text == "hello /after")
        }
    }

    /// An h2c app reached as HTTP/1.1 (the wrong setting) cannot answer: 502, not a hang.
    @Test func anH2CAppReachedOverHTTP11Is502() async throws {
        try await H2CFixture.with(threads: 1) { fixture in
            let client = try fixture.client()
            try client.send("GET / HTTP/1.1\r\nHost: plain.test\r\n\r\n")
            #expect(try client.readResponse().status == 502)
        }
    }

    /// A drain closes the target's h2c connections: an idle one at once; past the deadline,
    /// one with a stream in flight too, whose client gets 502.
    @Test func drainClosesH2CConnections() async throws {
        try await H2CFixture.with(threads: 1) { fixture in
            let client = try fixture.client()
            try client.send("GET /first HTTP/1.1\r\nHost: grpc.test\r\n\r\n")
            #expect(try client.readResponse().text == "hello /first")
            #expect(try fixture.server.stats.open == 1)
            #expect(await fixture.proxy.drain(target: fixture.target, deadline: .now + .seconds(5)))
            #expect(try await fixture.stats { $0.open == 0 }.open == 0, "an idle connection closes at once")

            let held = try fixture.client()
            try held.send("GET /hold?n=2 HTTP/1.1\r\nHost: grpc.test\r\n\r\n")
            #expect(try await fixture.stats { $0.requests["/hold"] == 1 }.open == 1)
            #expect(!(await fixture.proxy.drain(target: fixture.target, deadline: .now + .milliseconds(200))))
            #expect(try held.readResponse().status == 502)
            #expect(try await fixture.stats { $0.open == 0 }.open == 0)
        }
    }

    @Test func anIdleConnectionClosesAfterTheIdleTimeout() async throws {
        try await H2CFixture.with(threads: 1, configure: { $0.upstreamIdleTimeout = .milliseconds(300) }) { fixture in
            let client = try fixture.client()
            try client.send("GET /first HTTP/1.1\r\nHost: grpc.test\r\n\r\n")
            #expect(try client.readResponse().text == "hello /first")
            #expect(try await fixture.stats { $0.open == 0 }.open == 0)
            // The next request makes a new one.
            try client.send("GET /second HTTP/1.1\r\nHost: grpc.test\r\n\r\n")
            #expect(try client.readResponse().text == "hello /second")
            #expect(try fixture.server.stats.connections == 2)
        }
    }
}
