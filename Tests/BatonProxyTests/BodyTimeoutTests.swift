import BatonProxy
import Foundation
import Glibc
import Testing

/// A client that sends its request body a byte at a time (slowloris on the body) must not hold
/// a connection, and an upstream connection, for ever: the body has a deadline that grows only
/// with the bytes received.
///
/// Each test is bounded by its client's own socket timeouts; the time limits only stop a hang.
/// They are generous because they count the wait for a thread of the test process's
/// cooperative pool as well, which the suite's blocking tests can hold for over a minute on two
/// cores (a one-minute limit once tripped that way in a full run).
@Suite(.serialized) struct BodyTimeoutTests {
    static func oneSecondBodyTimeout(_ configuration: inout ProxyConfiguration) {
        configuration.clientBodyTimeout = .seconds(1)
        configuration.clientBodyMinimumRate = 1024
    }

    /// Sends one byte every `interval` until the proxy answers or closes the connection, at most
    /// `limit` bytes; returns how many went out. The tests drip up to the rest of the body and
    /// check that the proxy acted before it was all sent: an order, not a time (in a full run
    /// the proxy's loop may wait seconds for a core, and 100 bytes at 4 a second take 25 s).
    static func drip(_ client: RawClient, every interval: Duration, atMost limit: Int) -> Int {
        let milliseconds = Int32(interval / .milliseconds(1))
        for sent in 0..<limit {
            var ready = pollfd(fd: client.fd, events: Int16(POLLIN), revents: 0)
            if poll(&ready, 1, milliseconds) > 0 { return sent }
            guard (try? client.send("x")) != nil else { return sent }
        }
        return limit
    }

    @Test(.timeLimit(.minutes(10)))
    func aBodyDrippedAByteEvery250msGets408AndNeverCompletesUpstream() async throws {
        try await ProxyFixture.with(configure: Self.oneSecondBodyTimeout) { fixture in
            let port = fixture.port
            let (sent, status, closed) = try await offThePool {
                let client = try RawClient(port: port, timeout: 5)
                try client.send("POST /upload HTTP/1.1\r\nHost: app.test\r\nContent-Length: 100\r\n\r\n")
                let sent = Self.drip(client, every: .milliseconds(250), atMost: 100)
                return (sent, try client.readResponse().status, client.isClosed())
            }
            #expect(status == 408)
            #expect(closed)
            #expect(sent < 100, "the proxy waited for the whole body at 4 bytes/s before answering")
            #expect(fixture.backend.log.requests.allSatisfy { !$0.complete })
        }
    }

    @Test(.timeLimit(.minutes(10)))
    func aSlowBodyAfterTheResponseStartedClosesTheConnection() async throws {
        try await ProxyFixture.with(configure: Self.oneSecondBodyTimeout) { fixture in
            let port = fixture.port
            let (head, sent, rest) = try await offThePool {
                let client = try RawClient(port: port, timeout: 5)
                try client.send("POST /answer-first HTTP/1.1\r\nHost: app.test\r\nContent-Length: 100\r\n\r\nx")
                let head = try client.readLine()
                let sent = Self.drip(client, every: .milliseconds(250), atMost: 99)
                var rest: [UInt8] = []
                while true {
                    let more = client.readSome()
                    if more.isEmpty { break }
                    rest += more
                }
                return (head, sent, String(decoding: rest, as: UTF8.self))
            }
            #expect(head == "HTTP/1.1 200 OK")
            #expect(sent < 99, "the connection stayed open for the whole slow body")
            #expect(!rest.contains("408"), "a second response after the first had started: \(rest)")
            #expect(!rest.hasSuffix("0\r\n\r\n"), "the response must not look complete")
        }
    }

    @Test(.timeLimit(.minutes(10)))
    func aSlowBodyAfterALocalAnswerClosesTheConnection() async throws {
        try await ProxyFixture.with(configure: Self.oneSecondBodyTimeout) { fixture in
            let port = fixture.port
            let (status, sent) = try await offThePool {
                let client = try RawClient(port: port, timeout: 5)
                try client.send("POST / HTTP/1.1\r\nHost: nobody.test\r\nContent-Length: 100\r\n\r\nx")
                let status = try client.readResponse().status
                let sent = Self.drip(client, every: .milliseconds(250), atMost: 99)
                return (status, client.isClosed() ? sent : -1)
            }
            #expect(status == 404)
            #expect(sent >= 0 && sent < 99, "the connection stayed open for the whole slow body")
        }
    }

    @Test(.timeLimit(.minutes(10)))
    func anUploadFasterThanTheMinimumRateOutlivesTheTimeout() async throws {
        try await ProxyFixture.with(configure: Self.oneSecondBodyTimeout) { fixture in
            let port = fixture.port
            let text = try await offThePool {
                let client = try RawClient(port: port, timeout: 5)
                let piece = String(repeating: "a", count: 2048)
                try client.send("POST /upload HTTP/1.1\r\nHost: app.test\r\nContent-Length: \(30 * 2048)\r\n\r\n")
                for _ in 0..<30 {
                    try client.send(piece)
                    usleep(100_000)
                }
                return try client.readResponse().text
            }
            #expect(text == "received \(30 * 2048)")
        }
    }
}
