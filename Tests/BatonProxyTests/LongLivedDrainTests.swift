@testable import BatonProxy
import Foundation
import Glibc
import NIOCore
import Testing

/// The drain of long-lived connections, against the proxy alone. The upstream echoes what the
/// client sends, so the client writes the server's WebSocket frames itself: whole ones, a frame
/// cut in two, a hostile header claiming 2^63 bytes.
@Suite(.serialized) struct LongLivedDrainTests {
    static let goingAway: [UInt8] = [0x88, 0x02, 0x03, 0xE9]

    /// A WebSocket tunnel through the proxy to an echoing upstream, and its target.
    static func webSocket(_ fixture: ProxyFixture) throws -> (RawClient, UpgradeEchoServer, Target) {
        let upstream = try UpgradeEchoServer(greeting: "")
        let target = Target.address(host: "127.0.0.1", port: upstream.port)
        fixture.proxy.install(RouteTable([("ws.test", Route(app: "ws", target: target)), ("app.test", Route(app: "app", target: fixture.backendTarget))]))
        let client = try fixture.client()
        try client.send("GET /chat HTTP/1.1\r\nHost: ws.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        #expect(try client.readResponse().status == 101)
        return (client, upstream, target)
    }

    /// Whether nothing arrives on `client` for `milliseconds`.
    static func silent(_ client: RawClient, milliseconds: Int32) -> Bool {
        var entry = pollfd(fd: client.fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, milliseconds) == 0
    }

    @Test func theCloseFrameWaitsForTheEndOfTheFrameInProgress() async throws {
        try await ProxyFixture.with { fixture in
            let (client, upstream, target) = try Self.webSocket(fixture)
            defer { upstream.stop() }
            let whole: [UInt8] = [0x81, 0x02] + Array("hi".utf8)
            try client.send(whole)
            #expect(try client.readExactly(whole.count) == whole)
            // A binary frame of 16 bytes, of which 6 go now: the stream is mid-frame.
            let payload: [UInt8] = Array(0..<16)
            try client.send([0x82, 0x10] + payload[0..<6])
            #expect(try client.readExactly(8) == [0x82, 0x10] + payload[0..<6])

            let proxy = fixture.proxy
            let drain = Task { await proxy.drain(target: target, deadline: .now, longDeadline: .now, goAwayGrace: .seconds(5)) }
            // Asked to go away mid-frame, the proxy sends nothing into the frame.
            #expect(await eventually { proxy.longLivedAskedToGo(target: target) == 1 })
            #expect(Self.silent(client, milliseconds: 300), "nothing may be injected into the middle of a frame")
            try client.send(Array(payload[6...]) + whole)
            // The frame's end, then the close frame 1001 and no byte of the next frame.
            #expect(try client.readExactly(10) == Array(payload[6...]))
            #expect(try client.readExactly(4) == Self.goingAway)
            #expect(client.isClosed())
            let report = await drain.value
            #expect(report.longLived == LongLivedReport(open: 1, closedByBaton: 1))
            #expect(fixture.proxy.inFlight(target: target) == 0)
        }
    }

    @Test func aHostileFrameLengthGetsNoCloseFrameAndCannotHoldTheDrain() async throws {
        try await ProxyFixture.with { fixture in
            let (client, upstream, target) = try Self.webSocket(fixture)
            defer { upstream.stop() }
            // A header claiming 2^63 - 1 bytes: the frame never ends.
            let header: [UInt8] = [0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
            try client.send(header + Array(repeating: 0x88, count: 100))
            #expect(try client.readExactly(110).count == 110)
            let report = await fixture.proxy.drain(target: target, deadline: .now, longDeadline: .now, goAwayGrace: .milliseconds(300))
            // Cut at the grace without a close frame (which would land inside the frame).
            var after: [UInt8] = []
            for _ in 0..<5 where !client.isClosed() { after += client.readSome() }
            #expect(after.isEmpty, "no byte after the cut, no close frame inside the frame: \(after)")
            #expect(report.longLived == LongLivedReport(open: 1, closedByBaton: 1))
            #expect(await eventually { fixture.proxy.inFlight(target: target) == 0 })
        }
    }

    @Test func ordinaryRequestsAreCutAtTheDrainTimeoutWhileAWebSocketRunsOn() async throws {
        try await ProxyFixture.with { fixture in
            let (socket, upstream, target) = try Self.webSocket(fixture)
            defer { upstream.stop() }
            // A request the upstream never answers, on the same target.
            let ordinary = try fixture.client()
            try ordinary.send("GET /hang HTTP/1.1\r\nHost: ws.test\r\n\r\n")
            #expect(await eventually { fixture.proxy.inFlight(target: target) == 2 })
            let proxy = fixture.proxy
            let long = Task { await proxy.drain(target: target, deadline: .now + .milliseconds(200), longDeadline: .now + .seconds(30)) }
            // The ordinary request is cut at the drain timeout...
            #expect(await eventually { proxy.inFlight(target: target) == 1 })
            #expect(try ordinary.readResponse().status == 502)
            // ...while the WebSocket still carries frames both ways.
            let frame: [UInt8] = [0x81, 0x03] + Array("abc".utf8)
            try socket.send(frame)
            #expect(try socket.readExactly(frame.count) == frame)
            // The client leaves: counted as closed by the client, and the drain ends with it.
            shutdown(socket.fd, Int32(SHUT_RDWR))
            let report = await long.value
            #expect(!report.drained, "an ordinary request was cut")
            #expect(report.longLived == LongLivedReport(open: 1, closedByClient: 1))
        }
    }

    @Test func anEventStreamEndsWithItsLastChunkAtTheLongTimeout() async throws {
        try await ProxyFixture.with { fixture in
            let client = try fixture.client()
            // /sse/60000 sends one event now and the next, and its end, a minute later: long
            // after the drain, however loaded the machine.
            try client.send("GET /sse/60000 HTTP/1.1\r\nHost: app.test\r\n\r\n")
            #expect(try client.readLine() == "HTTP/1.1 200 OK")
            while try !client.readLine().isEmpty {}
            _ = try client.readLine()
            #expect(try client.readLine() == "data: one")
            #expect(try client.readLine() == "")
            #expect(try client.readLine() == "")
            let report = await fixture.proxy.drain(target: fixture.backendTarget, deadline: .now, longDeadline: .now)
            // The response ends cleanly (the chunked terminator), and the connection stays usable.
            #expect(try client.readLine() == "0")
            #expect(try client.readLine() == "")
            #expect(report.longLived == LongLivedReport(open: 1, closedByBaton: 1))
            #expect(report.drained)
        }
    }
}

@Suite struct WebSocketFrameTrackerTests {
    func track(_ bytes: [UInt8], into tracker: inout WebSocketFrameTracker, stop: Bool = false) -> Int {
        tracker.advance(ByteBuffer(bytes: bytes).readableBytesView, stopAtBoundary: stop)
    }

    @Test func boundariesFallOnlyBetweenFramesHoweverTheBytesAreCut() {
        // A short text frame, a 300-byte binary frame (16-bit length), a masked ping.
        let frames: [[UInt8]] = [
            [0x81, 0x03] + Array("abc".utf8),
            [0x82, 0x7E, 0x01, 0x2C] + Array(repeating: 7, count: 300),
            [0x89, 0x82, 1, 2, 3, 4, 9, 9],
        ]
        let stream = frames.flatMap { $0 }
        var ends = Set<Int>()
        var offset = 0
        for frame in frames {
            offset += frame.count
            ends.insert(offset)
        }
        for piece in [1, 2, 3, 5, 13, 64, stream.count] {
            var tracker = WebSocketFrameTracker()
            var position = 0
            while position < stream.count {
                let end = min(position + piece, stream.count)
                for index in position..<end {
                    _ = track([stream[index]], into: &tracker)
                    #expect(tracker.atBoundary == ends.contains(index + 1), "piece \(piece), byte \(index)")
                }
                position = end
            }
        }
    }

    @Test func stoppingAtTheBoundaryConsumesOnlyTheFrameInProgress() {
        var tracker = WebSocketFrameTracker()
        _ = track([0x81, 0x05, 1, 2], into: &tracker)
        #expect(!tracker.atBoundary)
        #expect(track([3, 4, 5, 0x81, 0x00], into: &tracker, stop: true) == 3)
        #expect(tracker.atBoundary)
        #expect(track([0x81, 0x00], into: &tracker, stop: true) == 0)
    }

    @Test func aHostileLengthNeverReachesABoundary() {
        var tracker = WebSocketFrameTracker()
        _ = track([0x82, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], into: &tracker)
        for _ in 0..<100 {
            #expect(track(Array(repeating: 0x88, count: 4096), into: &tracker, stop: true) == 4096)
            #expect(!tracker.atBoundary)
        }
    }
}
