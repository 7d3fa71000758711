@testable import BatonProxy
import Foundation
import Glibc
import Synchronization
import Testing

/// A shutdown closes no HTTP/1.1 connection under a client that may be sending on it: what is
/// in flight or already received is answered, the last response says `Connection: close`, and
/// an idle connection waits for its next request. WebSockets run to the end of the grace
/// period and get a close frame 1001. The shutdown returns once the last connection closed.
/// Grace periods are minutes where a test shows that the shutdown did not wait them out.
@Suite(.serialized) struct GracefulShutdownTests {
    static func get(_ path: String, host: String = "app.test") -> String {
        "GET \(path) HTTP/1.1\r\nHost: \(host)\r\n\r\n"
    }

    /// Connections must outlive the test's pauses: only the shutdown closes them here.
    static func patient(_ configuration: inout ProxyConfiguration) {
        configuration.clientHeaderTimeout = .seconds(300)
        configuration.idleTimeout = .seconds(300)
    }

    @Test func anIdleKeepAliveConnectionGetsItsNextRequestAnsweredWithConnectionClose() async throws {
        try await ProxyFixture.with(configure: Self.patient) { fixture in
            let client = try fixture.client()
            try client.send(Self.get("/one"))
            #expect(try client.readResponse().header("connection") != "close")
            await fixture.proxy.stopAccepting()
            // Served as before once the proxy stopped accepting.
            try client.send(Self.get("/two"))
            #expect(try client.readResponse().header("connection") != "close")
            try await ShutdownRun.with(fixture.proxy, grace: .seconds(300)) { run in
                // The connection was idle when told: still open, and its next request is answered.
                #expect(client.isOpenNow())
                try client.send(Self.get("/three"))
                let response = try client.readResponse()
                #expect(response.status == 200 && response.text == "hello /three")
                #expect(response.header("connection") == "close")
                #expect(client.isClosed())
                #expect(await run.ends(), "the last connection closed: the shutdown is over")
            }
            #expect(fixture.backend.log.uris == ["/one", "/two", "/three"])
        }
    }

    @Test func aConnectionThatHasSentNothingYetIsAnsweredWhenItSends() async throws {
        try await ProxyFixture.with(configure: Self.patient) { fixture in
            let client = try fixture.client()
            #expect(await eventually(within: .seconds(60)) { fixture.proxy.openConnections == 1 })
            try await ShutdownRun.with(fixture.proxy, grace: .seconds(300)) { run in
                #expect(client.isOpenNow())
                try client.send(Self.get("/late"))
                let response = try client.readResponse()
                #expect(response.status == 200 && response.text == "hello /late")
                #expect(response.header("connection") == "close")
                #expect(client.isClosed())
                #expect(await run.ends())
            }
        }
    }

    @Test func aSlowRequestInFlightCompletesAndSaysConnectionClose() async throws {
        try await ProxyFixture.with(configure: Self.patient) { fixture in
            let gated = try GatedBackend()
            defer { gated.stop() }
            fixture.proxy.install(RouteTable([("slow.test", Route(app: "slow", target: .address(host: "127.0.0.1", port: gated.port)))]))
            let client = try fixture.client(timeout: 60)
            try client.send(Self.get("/slow", host: "slow.test"))
            #expect(await eventually(within: .seconds(60)) { gated.received == ["/slow"] })
            try await ShutdownRun.with(fixture.proxy, grace: .seconds(300)) { run in
                // The upstream answers only now, after every connection was told.
                gated.open()
                let response = try client.readResponse()
                #expect(response.status == 200 && response.text == "gated /slow")
                #expect(response.header("connection") == "close")
                #expect(client.isClosed())
                #expect(await run.ends())
            }
        }
    }

    @Test func pipelinedRequestsAlreadyReceivedAreAnsweredTheLastWithConnectionClose() async throws {
        try await ProxyFixture.with(configure: Self.patient) { fixture in
            let gated = try GatedBackend()
            defer { gated.stop() }
            fixture.proxy.install(RouteTable([("slow.test", Route(app: "slow", target: .address(host: "127.0.0.1", port: gated.port)))]))
            let client = try fixture.client(timeout: 60)
            // Three requests in one write: the first goes upstream, two wait behind it.
            try client.send(["/p1", "/p2", "/p3"].map { Self.get($0, host: "slow.test") }.joined())
            #expect(await eventually(within: .seconds(60)) { gated.received == ["/p1"] })
            try await ShutdownRun.with(fixture.proxy, grace: .seconds(300)) { run in
                gated.open()
                let responses = try (0..<3).map { _ in try client.readResponse() }
                #expect(responses.map(\.text) == ["gated /p1", "gated /p2", "gated /p3"])
                #expect(responses.map { $0.header("connection") == "close" } == [false, false, true])
                #expect(client.isClosed())
                #expect(await run.ends())
            }
        }
    }

    @Test func aWebSocketRunsToTheEndOfTheGraceThenGetsACloseFrame1001() async throws {
        try await ProxyFixture.with(configure: Self.patient) { fixture in
            let upstream = try UpgradeEchoServer(greeting: "")
            defer { upstream.stop() }
            let target = Target.address(host: "127.0.0.1", port: upstream.port)
            fixture.proxy.install(RouteTable([("ws.test", Route(app: "ws", target: target))]))
            // Reads wait past the grace period for the close frame.
            let client = try fixture.client(timeout: 60)
            try client.send("GET /chat HTTP/1.1\r\nHost: ws.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            #expect(try client.readResponse().status == 101)
            let frame: [UInt8] = [0x81, 0x03] + Array("abc".utf8)
            try await ShutdownRun.with(fixture.proxy, grace: .seconds(10)) { run in
                // Frames still go both ways (the upstream echoes) during the grace period.
                try client.send(frame)
                #expect(try client.readExactly(frame.count) == frame)
                // Then the close frame, at a frame boundary, and the connection ends.
                #expect(try client.readExactly(4) == LongLivedDrainTests.goingAway)
                #expect(client.isClosed())
                #expect(await run.ends())
            }
            #expect(fixture.proxy.inFlight(target: target) == 0)
        }
    }

    @Test func aTLSConnectionSilentWhenTheShutdownBeginsCompletesItsHandshakeAndIsAnswered() async throws {
        try await TLSFixture.with(configure: Self.patient) { fixture in
            // Connected before the shutdown, its handshake not begun: curl speaks through it.
            let connected = try RawClient(port: fixture.tlsPort, timeout: 60)
            #expect(await eventually(within: .seconds(60)) { fixture.proxy.openConnections == 1 })
            let relay = try TCPRelay(to: connected.fd)
            defer { relay.stop() }
            try await ShutdownRun.with(fixture.proxy, grace: .seconds(300)) { run in
                let result = try await ClientTool.run(
                    ["/usr/bin/curl", "-sS", "--max-time", "30", "--http1.1", "-D", "-", "--cacert", fixture.certificates.caFile,
                     "--resolve", "app.test:\(relay.port):127.0.0.1", "https://app.test:\(relay.port)/late"])
                #expect(result.status == 0, "\(result.all)")
                #expect(result.output.lowercased().contains("connection: close"), "\(result.all)")
                #expect(result.output.contains("hello /late"), "\(result.all)")
                #expect(await run.ends())
            }
        }
    }

    @Test func anEventStreamRunsToTheEndOfTheGraceThenGetsItsLastChunk() async throws {
        try await ProxyFixture.with(configure: Self.patient) { fixture in
            let gated = try GatedBackend()
            defer { gated.stop() }
            let target = Target.address(host: "127.0.0.1", port: gated.port)
            fixture.proxy.install(RouteTable([("events.test", Route(app: "events", target: target))]))
            let client = try fixture.client(timeout: 60)
            try client.send(Self.get("/events", host: "events.test"))
            #expect(try client.readLine() == "HTTP/1.1 200 OK")
            while try !client.readLine().isEmpty {}
            #expect(try client.readLine() == "b")
            #expect(try client.readLine() == "data: one")
            #expect(try client.readLine() == "")
            #expect(try client.readLine() == "")
            try await ShutdownRun.with(fixture.proxy, grace: .seconds(2)) { (run: ShutdownRun) async throws in
                // The stream ends cleanly at the grace's end (the chunked terminator), and its
                // connection with it.
                #expect(try client.readLine() == "0")
                #expect(try client.readLine() == "")
                #expect(client.isClosed())
                #expect(fixture.proxy.longLivedAskedToGo(target: target) == 1)
                #expect(await run.ends())
            }
        }
    }

    @Test func aShutdownReturnsOnceTheLastConnectionClosed() async throws {
        try await ProxyFixture.with(configure: Self.patient) { fixture in
            // Served and gone before the shutdown.
            let gone = try fixture.client()
            try gone.send("GET /gone HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")
            #expect(try gone.readResponse().status == 200)
            #expect(gone.isClosed())
            // Idle across the shutdown until its client leaves.
            let leaving = try fixture.client()
            try leaving.send(Self.get("/leaving"))
            #expect(try leaving.readResponse().status == 200)
            #expect(await eventually(within: .seconds(60)) { fixture.proxy.openConnections == 1 })
            try await ShutdownRun.with(fixture.proxy, grace: .seconds(300)) { run in
                #expect(!run.hasEnded, "a connection is still open")
                shutdown(leaving.fd, Int32(SHUT_RDWR))
                #expect(await run.ends(), "returned long before the grace period")
            }
        }
    }
}

/// A shutdown running in a task of its own. Begun once every connection has been told to
/// quiesce; cancelled (its waits cut short) when the test leaves early, so the fixture's
/// cleanup never meets it still running.
final class ShutdownRun: Sendable {
    private let ended = Mutex(false)
    private let task = Mutex<Task<Void, Never>?>(nil)

    var hasEnded: Bool { ended.withLock { $0 } }

    /// Whether the shutdown returns within the liveness bound, far shorter than the grace
    /// periods tests give it.
    func ends() async -> Bool { await eventually(within: .seconds(60)) { hasEnded } }

    static func with(_ proxy: Proxy, grace: Duration, _ body: (ShutdownRun) async throws -> Void) async throws {
        let run = ShutdownRun()
        let task = Task {
            await proxy.shutdown(gracePeriod: grace)
            run.ended.withLock { $0 = true }
        }
        run.task.withLock { $0 = task }
        #expect(await eventually(within: .seconds(60)) { proxy.quiesced.load(ordering: .acquiring) })
        do {
            try await body(run)
        } catch {
            task.cancel()
            await task.value
            throw error
        }
        task.cancel()
        await task.value
    }
}

/// An HTTP/1.1 upstream that answers each request (GET, no body) only once `open()` has been
/// called: a request stays in flight for as long as a test needs. `/events` is an event stream
/// that sends one event at once and never ends.
final class GatedBackend: Sendable {
    let fd: Int32
    let port: Int
    private let state = Mutex<(open: Bool, received: [String], stopped: Bool)>((false, [], false))

    init() throws {
        let listener = try TestListener()
        fd = listener.fd
        port = listener.port
        Thread.detachNewThread { [self] in
            while true {
                let connection = accept(fd, nil, nil)
                guard connection >= 0 else {
                    // Closed here, once nothing uses it: `stop` only wakes this accept.
                    close(fd)
                    return
                }
                Thread.detachNewThread { [self] in serve(connection) }
            }
        }
    }

    var received: [String] { state.withLock { $0.received } }
    func open() { state.withLock { $0.open = true } }

    func stop() {
        state.withLock { $0.stopped = true }
        shutdown(fd, Int32(SHUT_RDWR))
    }

    private func serve(_ connection: Int32) {
        defer { close(connection) }
        while true {
            var head: [UInt8] = []
            var byte: UInt8 = 0
            while !head.suffix(4).elementsEqual(Array("\r\n\r\n".utf8)) {
                guard recv(connection, &byte, 1, 0) == 1 else { return }
                head.append(byte)
            }
            let uri = String(decoding: head, as: UTF8.self).split(separator: " ").dropFirst().first.map(String.init) ?? "?"
            state.withLock { $0.received.append(uri) }
            if uri == "/events" {
                // An event stream that never ends by itself: one event, then silence.
                let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                let bytes = Array((head + "b\r\ndata: one\n\n\r\n").utf8)
                guard send(connection, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else { return }
                while recv(connection, &byte, 1, 0) == 1 {}
                return
            }
            while !state.withLock({ $0.open || $0.stopped }) { usleep(2000) }
            let body = "gated \(uri)"
            let response = Array("HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8)
            guard send(connection, response, response.count, Int32(MSG_NOSIGNAL)) == response.count else { return }
        }
    }
}

/// Joins the first connection made to its port with a connection made before (its own copy of
/// `fd`), byte for byte both ways: a client tool can then speak over a connection the proxy
/// accepted earlier.
final class TCPRelay: Sendable {
    let port: Int
    private let listener: TestListener
    private let upstream: Int32

    init(to fd: Int32) throws {
        listener = try TestListener()
        port = listener.port
        upstream = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard upstream >= 0 else {
            listener.close()
            throw TestFailure("dup: \(errno)")
        }
        let (listening, upstream) = (listener.fd, upstream)
        Thread.detachNewThread {
            let client = accept(listening, nil, nil)
            guard client >= 0 else {
                close(upstream)
                return
            }
            let done = Mutex(0)
            let finish: @Sendable () -> Void = {
                // The second direction to end closes both sockets.
                if done.withLock({ $0 += 1; return $0 }) == 2 {
                    close(client)
                    close(upstream)
                }
            }
            Thread.detachNewThread { Self.pipe(from: client, to: upstream); finish() }
            Thread.detachNewThread { Self.pipe(from: upstream, to: client); finish() }
        }
    }

    private static func pipe(from source: Int32, to sink: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(source, &buffer, buffer.count, 0)
            guard count > 0, send(sink, buffer, count, Int32(MSG_NOSIGNAL)) == count else { break }
        }
        shutdown(sink, Int32(SHUT_WR))
    }

    func stop() {
        shutdown(listener.fd, Int32(SHUT_RDWR))
        listener.close()
    }
}
