import BatonOS
import BatonProxy
import Foundation
import Glibc
import Testing

/// Requests to an app served over h2c (`--upstream-protocol h2c`, a gRPC server's protocol)
/// from HTTP/1.1 clients: bodies stream both ways at once with backpressure, `TE: trailers`
/// reaches the app, and trailers pass both ways (to the client as a chunked trailer section).
@Suite(.serialized, .enabled(if: H2CServer.available, "requires /usr/bin/python3 with python3-h2"))
struct H2CStreamingTests {
    @Test func unaryEchoCarriesTrailersBothWays() async throws {
        try await H2CFixture.with { fixture in
            let client = try fixture.client()
            try client.send("POST /echo HTTP/1.1\r\nHost: grpc.test\r\nContent-Type: application/grpc\r\nTE: trailers\r\n"
                + "Transfer-Encoding: chunked\r\nTrailer: x-client-sum\r\n\r\n")
            try client.sendChunk("hello")
            try client.send("0\r\nX-Client-Sum: 42\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.text == "hello")
            #expect(response.header("transfer-encoding") == "chunked", "trailers need a chunked response")
            #expect(response.header("x-seen-te") == "trailers", "TE: trailers reaches an h2c app")
            #expect(response.header("x-seen-authority") == "grpc.test")
            #expect(field(response.trailers, "grpc-status") == "0", "\(response.trailers)")
            #expect(field(response.trailers, "grpc-message") == "echoed")
            #expect(field(response.trailers, "x-request-trailers") == "x-client-sum=42",
                    "request trailers reach the app, less the forwarding headers a client may not set")

            // The same client connection goes on: a new stream for the next request. A TE
            // that does not list trailers is not passed.
            try client.send("POST /echo HTTP/1.1\r\nHost: grpc.test\r\nTE: gzip\r\nContent-Length: 3\r\n\r\nabc")
            let second = try client.readResponse()
            #expect(second.text == "abc")
            #expect(second.header("x-seen-te") == "-")
            #expect(field(second.trailers, "grpc-status") == "0")
            #expect(try fixture.server.stats.resets == 0, "a stream that ended both ways is not reset")
        }
    }

    @Test func anHTTP10ClientGetsTheBodyWithoutTrailers() async throws {
        try await H2CFixture.with { fixture in
            let client = try fixture.client()
            try client.send("POST /echo HTTP/1.0\r\nHost: grpc.test\r\nContent-Length: 2\r\n\r\nhi")
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.text == "hi")
            #expect(response.header("transfer-encoding") == nil)
            #expect(response.trailers.isEmpty)
        }
    }

    /// A bidirectional stream: the response starts before the request ends, and each message
    /// comes back before the client sends the next; the trailers close it.
    @Test func bidiStreamFlowsBothWaysAtOnce() async throws {
        try await H2CFixture.with { fixture in
            let client = try fixture.client()
            try client.send("POST /bidi HTTP/1.1\r\nHost: grpc.test\r\nContent-Type: application/grpc\r\nTE: trailers\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n")
            let head = try client.readHead()
            #expect(head.status == 200)
            #expect(field(head.headers, "content-type") == "application/grpc")
            var trailers: [(String, String)] = []
            for message in ["one", "two", "three"] {
                try client.sendChunk(message)
                let echoed = try client.readChunk(trailers: &trailers)
                #expect(echoed.map { String(decoding: $0, as: UTF8.self) } == message)
            }
            try client.send("0\r\n\r\n")
            #expect(try client.readChunk(trailers: &trailers) == nil)
            #expect(field(trailers, "grpc-status") == "0")
            #expect(field(trailers, "x-chunks") == "3")
        }
    }

    @Test func aTrailersOnlyResponseKeepsItsStatusInTheHead() async throws {
        try await H2CFixture.with { fixture in
            let client = try fixture.client()
            try client.send("POST /trailers-only HTTP/1.1\r\nHost: grpc.test\r\nTE: trailers\r\nContent-Length: 0\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.header("grpc-status") == "12")
            #expect(response.header("grpc-message") == "no such method")
            #expect(response.bodyLength == 0)
        }
    }

    /// The app grants no flow-control window: the proxy sends no more than the window allows
    /// and stops reading the client, whose sends stall long before its 256 MiB are out; once
    /// the app takes the body, the rest flows.
    @Test func requestBodyWaitsForTheAppsWindow() async throws {
        try await H2CFixture.with { fixture in
            let client = try fixture.client(timeout: 60)
            try client.send("POST /sink HTTP/1.1\r\nHost: grpc.test\r\nTransfer-Encoding: chunked\r\n\r\n")
            let chunk = Array("100000\r\n".utf8) + [UInt8](repeating: 65, count: 1 << 20) + Array("\r\n".utf8)
            let total = 256
            var sent = try sendUntilStalled(client, chunk: chunk, chunks: total)
            #expect(sent.bytes < 48 << 20, "the client got \(sent.bytes) bytes out while the app took none")
            let held = try fixture.server.stats.sinkBeforeRelease
            #expect(held <= 65_535, "the proxy sent \(held) bytes past the app's window")

            let releaser = try fixture.client()
            try releaser.send("GET /release HTTP/1.1\r\nHost: grpc.test\r\n\r\n")
            #expect(try releaser.readResponse().status == 200)
            try sent.finish(client, chunk: chunk, chunks: total)
            try client.send("0\r\n\r\n")
            #expect(try client.readResponse().text == "received \(total << 20)")
        }
    }

    /// A client that stops reading a large response: the proxy stops granting the app window,
    /// so the app stops sending after what the sockets and one stream window hold.
    @Test func responseBodyWaitsForTheClient() async throws {
        try await H2CFixture.with { fixture in
            let size = 64 << 20
            let client = try fixture.client(timeout: 60)
            // A small receive buffer: what the kernel holds for the client is not the proxy's doing.
            var buffer: CInt = 256 << 10
            setsockopt(client.fd, SOL_SOCKET, SO_RCVBUF, &buffer, socklen_t(MemoryLayout<CInt>.size))
            try client.send("GET /big/\(size) HTTP/1.1\r\nHost: grpc.test\r\n\r\n")
            var stats = try await fixture.stats { $0.sent > 0 }
            var previous = -1
            // Until the app's sends stop moving (or all is sent: then the proxy buffered it).
            while stats.sent != previous && stats.sent < size {
                previous = stats.sent
                try await Task.sleep(for: .milliseconds(300))
                stats = try fixture.server.stats
            }
            #expect(stats.sent < 16 << 20, "the app got \(stats.sent) bytes out to a client that reads nothing")
            let response = try client.readResponse(discardBody: true)
            #expect(response.status == 200)
            #expect(response.bodyLength == size)
        }
    }

    /// A sandbox's target: the proxy makes the h2c connection inside the network namespace
    /// where the server listens on 127.0.0.1, as it does for HTTP/1.1 sandbox targets.
    @Test(.enabled(if: geteuid() == 0, "requires root"))
    func anH2CTargetInsideANetworkNamespace() async throws {
        try await H2CFixture.with(isolated: true) { fixture in
            let client = try fixture.client()
            try client.send("POST /echo HTTP/1.1\r\nHost: grpc.test\r\nTE: trailers\r\nContent-Length: 4\r\n\r\nnets")
            let response = try client.readResponse()
            #expect(response.text == "nets")
            #expect(field(response.trailers, "grpc-status") == "0")
        }
    }
}

/// Where a stalled upload stopped: bytes the kernel took, and the rest of the chunk it was in.
struct StalledUpload {
    var bytes: Int
    var chunks: Int
    var remainder: [UInt8]

    /// Sends the rest, blocking.
    mutating func finish(_ client: RawClient, chunk: [UInt8], chunks total: Int) throws {
        setBlocking(client.fd, true)
        try client.send(remainder)
        for _ in chunks..<total { try client.send(chunk) }
    }
}

/// Sends `chunks` copies of `chunk` without blocking until the socket has taken nothing for
/// a second: what a peer that stopped reading lets through.
func sendUntilStalled(_ client: RawClient, chunk: [UInt8], chunks total: Int) throws -> StalledUpload {
    setBlocking(client.fd, false)
    var upload = StalledUpload(bytes: 0, chunks: 0, remainder: [])
    while upload.chunks < total || !upload.remainder.isEmpty {
        if upload.remainder.isEmpty {
            upload.remainder = chunk
            upload.chunks += 1
        }
        let written = upload.remainder.withUnsafeBytes { Glibc.send(client.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if written > 0 {
            upload.bytes += written
            upload.remainder.removeFirst(written)
            continue
        }
        guard errno == EAGAIN || errno == EWOULDBLOCK else { throw TestFailure("send: errno \(errno)") }
        var poller = pollfd(fd: client.fd, events: Int16(POLLOUT), revents: 0)
        if poll(&poller, 1, 1000) == 0 { break }
    }
    return upload
}

func setBlocking(_ fd: Int32, _ blocking: Bool) {
    let flags = fcntl(fd, F_GETFL)
    _ = fcntl(fd, F_SETFL, blocking ? flags & ~O_NONBLOCK : flags | O_NONBLOCK)
}
