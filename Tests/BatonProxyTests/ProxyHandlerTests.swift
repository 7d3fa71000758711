@testable import BatonProxy
import Glibc
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// `ProxyHandler` alone on `EmbeddedChannel`s: the client side takes request parts and gives
/// response parts, each upstream connection is an embedded channel of raw HTTP bytes. Every
/// event arrives exactly when the test says, so states that real sockets reach only by timing
/// (pipelining, a response head in the middle of a body, events a bug would send) are driven
/// on purpose.
@Suite struct ProxyHandlerTests {
    let client = EmbeddedChannel()
    let connector = EmbeddedConnector()
    let handler: ProxyHandler

    static let app = Target.address(host: "127.0.0.1", port: 8001)

    init() throws {
        let shared = ProxyShared(configuration: ProxyConfiguration(), connector: connector, metrics: ProxyMetrics(), accessLog: nil)
        shared.install(RouteTable([
            ("app.test", Route(app: "app", target: Self.app)),
            ("empty.test", Route(app: "empty", target: nil)),
        ]))
        let loop = LoopContext(eventLoop: client.embeddedEventLoop, shared: shared)
        handler = ProxyHandler(
            loop: loop, clientDeadline: ClientRequestDecoder(limits: .nioDefaults, configuration: shared.configuration, wheel: loop.deadlines))
        connector.loop = client.embeddedEventLoop
        try client.pipeline.syncOperations.addHandler(handler)
        try client.connect(to: SocketAddress(ipAddress: "10.1.2.3", port: 40000)).wait()
    }

    func request(_ method: HTTPMethod = .GET, _ uri: String, host: String = "app.test", end: Bool = true) throws {
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: ["Host": host])
        try client.writeInbound(RequestPart.head(RequestHead(head)))
        if end { try client.writeInbound(RequestPart.end(nil)) }
    }

    /// The response parts the client got so far: status, body text, and whether it ended.
    func response() throws -> (status: UInt?, body: String, ended: Bool) {
        var status: UInt?
        var body = ""
        while let part = try client.readOutbound(as: HTTPServerResponsePart.self) {
            switch part {
            case .head(let head): status = head.status.code
            case .body(.byteBuffer(let buffer)): body += String(buffer: buffer)
            case .body: break
            case .end: return (status, body, true)
            }
        }
        return (status, body, false)
    }

    @Test func aRequestIsRoutedByHostAndSentUpstreamInOriginForm() throws {
        try request(.GET, "http://app.test/x?y=1")
        let upstream = try #require(connector.connections.first)
        #expect(connector.targets == [Self.app])
        let sent = try upstream.sentText()
        #expect(sent.hasPrefix("GET /x?y=1 HTTP/1.1\r\n"))
        #expect(sent.contains("x-forwarded-for: 10.1.2.3\r\n"))
        try upstream.respond("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
        let answer = try response()
        #expect(answer.status == 200 && answer.body == "hi" && answer.ended)
        #expect(client.isActive)
    }

    @Test func anUnknownHostIs404AndAnAppWithoutTargetIs503WithoutAnUpstream() throws {
        try request(.GET, "/", host: "nobody.test")
        #expect(try response().status == 404)
        try request(.GET, "/", host: "empty.test")
        #expect(try response().status == 503)
        #expect(connector.connections.isEmpty)
        #expect(client.isActive)
    }

    @Test func aRefusedConnectionIs502() throws {
        connector.refuse = true
        try request(.GET, "/")
        let answer = try response()
        #expect(answer.status == 502 && answer.ended)
    }

    @Test func anUpstreamThatClosesBeforeItsResponseIs502() throws {
        try request(.GET, "/")
        let upstream = try #require(connector.connections.first)
        upstream.close(promise: nil)
        #expect(try response().status == 502)
        #expect(client.isActive, "the request had ended: the connection stays usable")
    }

    @Test func anUpstreamThatClosesAfterItsResponseStartedClosesTheClient() throws {
        try request(.GET, "/")
        let upstream = try #require(connector.connections.first)
        try upstream.respond("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhal")
        upstream.close(promise: nil)
        let answer = try response()
        #expect(answer.status == 200 && answer.body == "hal" && !answer.ended)
        #expect(!client.isActive, "a truncated response must end with the connection")
    }

    @Test func pipelinedRequestsAreAnsweredInOrderOnePerUpstreamExchange() throws {
        try request(.GET, "/one")
        try request(.GET, "/two")
        let upstream = try #require(connector.connections.first)
        let first = try upstream.sentText()
        #expect(first.hasPrefix("GET /one ") && !first.contains("/two"), "the second request waits its turn")
        try upstream.respond("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none")
        #expect(try response().body == "one")
        #expect(connector.connections.count == 1, "the pooled connection carries the second request")
        #expect(try upstream.sentText().hasPrefix("GET /two "))
        try upstream.respond("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo")
        #expect(try response().body == "two")
    }

    @Test func aBodyWithNoRequestClosesTheConnection() throws {
        try client.writeInbound(RequestPart.body(ByteBuffer(string: "stray")))
        #expect(try response().status == nil)
        #expect(!client.isActive)
    }

    @Test func aSecondHeadInsideARequestIs500AndDropsTheUpstream() throws {
        try request(.POST, "/upload", end: false)
        let upstream = try #require(connector.connections.first)
        try request(.GET, "/smuggled")
        let answer = try response()
        #expect(answer.status == 500 && answer.ended)
        #expect(!client.isActive)
        #expect(!upstream.isActive)
        #expect(try !upstream.sentText().contains("/smuggled"))
    }

    @Test func aSecondResponseHeadClosesTheConnectionAfterTheFirst() throws {
        try request(.GET, "/")
        try connector.connections.first?.respond("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
        handler.upstreamHead(ResponseHead(version: .http1_1, status: .ok))
        let answer = try response()
        #expect(answer.status == 200 && !answer.ended)
        #expect(!client.isActive)
    }

    @Test func aResponseEndWithNoExchangeClosesTheConnection() throws {
        handler.upstreamEnd(trailers: nil)
        #expect(try response().status == nil)
        #expect(!client.isActive)
    }

    @Test func aMoveTheProxyNeverMakesClosesTheConnection() throws {
        #expect(!handler.move(to: .tunnelling), "idle never becomes a tunnel without a 101")
        #expect(!client.isActive)
    }
}

/// Hands out embedded channels as upstream connections, on the client's loop. Used from the
/// test's thread only (the embedded loop runs there), hence unchecked.
final class EmbeddedConnector: UpstreamConnector, @unchecked Sendable {
    var loop: EmbeddedEventLoop?
    var refuse = false
    private(set) var connections: [EmbeddedChannel] = []
    private(set) var targets: [Target] = []

    func connect(
        to target: Target, on eventLoop: any EventLoop, timeout: TimeAmount,
        initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) -> EventLoopFuture<any Channel> {
        targets.append(target)
        if refuse { return eventLoop.makeFailedFuture(IOError(errnoCode: ECONNREFUSED, reason: "connect")) }
        let channel = EmbeddedChannel(loop: loop!)
        do {
            try initializer(channel).wait()
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8001)).wait()
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        connections.append(channel)
        return eventLoop.makeSucceededFuture(channel)
    }
}

extension EmbeddedChannel {
    /// The bytes written to this upstream connection since the last call.
    func sentText() throws -> String {
        var text = ""
        while let buffer = try readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    /// Feeds `text` to this upstream connection as the upstream's bytes.
    func respond(_ text: String) throws {
        try writeInbound(ByteBuffer(string: text))
    }
}
