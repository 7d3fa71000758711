import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// What reached the backend: every request head, and its body size once complete.
struct RecordedRequest: Sendable {
    var method: String
    var uri: String
    var headers: [(String, String)]
    var bodyBytes = 0
    var complete = false
    var trailers: [(String, String)] = []

    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name }?.1 }
    func headers(_ name: String) -> [String] { headers.filter { $0.0.lowercased() == name }.map(\.1) }
}

/// Without `recording` only the count is kept: a test that measures the memory of the
/// process must not see the log grow.
final class BackendLog: Sendable {
    private let recording: Bool
    private let state = Mutex<(requests: [RecordedRequest], count: Int)>(([], 0))
    /// Connections accepted ever, and open now: what the proxy's upstream pool made and kept.
    private let connections = Mutex<(accepted: Int, open: Int)>((0, 0))

    init(recording: Bool = true) { self.recording = recording }

    var connectionsAccepted: Int { connections.withLock { $0.accepted } }
    var connectionsOpen: Int { connections.withLock { $0.open } }
    func connectionAccepted() { connections.withLock { $0.accepted += 1; $0.open += 1 } }
    func connectionClosed() { connections.withLock { $0.open -= 1 } }

    var requests: [RecordedRequest] { state.withLock { $0.requests } }
    var count: Int { state.withLock { $0.count } }
    func append(_ request: RecordedRequest) -> Int {
        state.withLock { state in
            state.count += 1
            guard recording else { return -1 }
            state.requests.append(request)
            return state.requests.count - 1
        }
    }
    func update(_ index: Int, _ body: (inout RecordedRequest) -> Void) {
        guard index >= 0 else { return }
        state.withLock { body(&$0.requests[index]) }
    }
    var uris: [String] { requests.map(\.uri) }
}

/// An HTTP/1.1 server on 127.0.0.1 that logs what reaches it. Paths choose behaviour:
/// /big/N streams N bytes, /slow/MS waits, /sse streams events (/sse/MS: the second MS ms after the first), /upload counts the body,
/// /reset closes without answering, /answer-first sends a head and a first chunk as soon as
/// the request head arrives and ends the response when the request ends, /drop-reused is answered on a fresh connection and, on one
/// that has answered before, logged and then closed unanswered (an upstream that ran the
/// request and died), /trailers answers chunked with a trailer section (some of it fields a
/// trailer must not carry, some forwarding headers); anything else answers "hello <uri>".
final class TestBackend: Sendable {
    let log: BackendLog
    let channel: any Channel
    let group: MultiThreadedEventLoopGroup
    var port: Int { channel.localAddress!.port! }

    init(recording: Bool = true) async throws {
        log = BackendLog(recording: recording)
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let log = self.log
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                log.connectionAccepted()
                channel.closeFuture.whenComplete { _ in log.connectionClosed() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(BackendHandler(log: log))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

private final class BackendHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let log: BackendLog
    var index = 0
    var uri = ""
    var bodyBytes = 0
    var remaining = 0
    var streaming = false
    var answered = 0

    init(log: BackendLog) { self.log = log }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            uri = head.uri
            bodyBytes = 0
            index = log.append(RecordedRequest(method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) }))
            if head.headers["expect"].first?.lowercased() == "100-continue" {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .continue))), promise: nil)
            }
            if uri == "/answer-first" {
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "first")))), promise: nil)
            }
        case .body(let body):
            bodyBytes += body.readableBytes
        case .end(let trailers):
            let count = bodyBytes
            let received = trailers.map { $0.map { ($0.name, $0.value) } } ?? []
            log.update(index) { $0.bodyBytes = count; $0.complete = true; $0.trailers = received }
            respond(context: context)
        }
    }

    private func respond(context: ChannelHandlerContext) {
        let parts = uri.split(separator: "/")
        switch parts.first {
        case "big":
            remaining = Int(parts[1]) ?? 0
            var headers = HTTPHeaders()
            headers.add(name: "content-length", value: String(remaining))
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            streaming = true
            pump(context: context)
        case "slow":
            let millis = Int64(parts[1]) ?? 0
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(millis)) {
                self.simple(context: context, text: "slow done")
            }
        case "sse":
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "text/event-stream")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "data: one\n\n")))), promise: nil)
            // /sse/MS: the second event after MS milliseconds instead.
            let delay = parts.count > 1 ? Int64(parts[1]) ?? 1500 : 1500
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(delay)) {
                context.write(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "data: two\n\n")))), promise: nil)
                context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
            }
        case "upload":
            simple(context: context, text: "received \(bodyBytes)")
        case "reset":
            context.close(promise: nil)
        case "answer-first":
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        case "drop-reused" where answered > 0:
            context.close(promise: nil)
        case "trailers":
            var headers = HTTPHeaders()
            headers.add(name: "trailer", value: "x-checksum")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "data")))), promise: nil)
            let trailers = HTTPHeaders([
                ("x-checksum", "abc123"), ("connection", "close"), ("trailer", "x-more"), ("upgrade", "h2c"),
                ("x-forwarded-for", "6.6.6.6"), ("forwarded", "for=6.6.6.6"), ("x_real_ip", "6.6.6.6"), ("x-done", "yes"),
            ])
            context.writeAndFlush(wrapOutboundOut(.end(trailers)), promise: nil)
        default:
            simple(context: context, text: "hello \(uri)")
        }
    }

    private func simple(context: ChannelHandlerContext, text: String) {
        answered += 1
        var headers = HTTPHeaders()
        headers.add(name: "content-length", value: String(text.utf8.count))
        headers.add(name: "keep-alive", value: "timeout=5")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    private func pump(context: ChannelHandlerContext) {
        while streaming && remaining > 0 && context.channel.isWritable {
            let size = min(remaining, 65536)
            remaining -= size
            var buffer = context.channel.allocator.buffer(capacity: size)
            buffer.writeRepeatingByte(UInt8(ascii: "x"), count: size)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        if streaming && remaining == 0 {
            streaming = false
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            context.flush()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable && streaming { pump(context: context) }
        context.fireChannelWritabilityChanged()
    }
}
