import BatonProxy
import NIOCore
import NIOHTTP1
import NIOPosix

/// `baton daemon --metrics ADDR:PORT`: Prometheus text at `GET /metrics` over TCP, for scrapers
/// that cannot reach the control socket. Read-only and answers nothing else (404).
final class MetricsServer: Sendable {
    let channel: any Channel
    private let connections: ServerConnections

    /// Serves on `fd`, a listening TCP socket (DaemonListeners), which it owns.
    init(adopting fd: Int32, group: any EventLoopGroup, metrics: ProxyMetrics) async throws {
        let connections = ServerConnections()
        self.connections = connections
        channel = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                guard connections.accept(channel) else { return channel.close() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHandler(metrics: metrics))
                }
            }
            .withBoundSocket(fd).get()
    }

    var address: SocketAddress? { channel.localAddress }

    /// Closes the listening socket: no new scraper gets in.
    func stopAccepting() async {
        try? await channel.close()
    }

    /// Closes every scraper's connection and returns once each has closed.
    func closeConnections() async {
        await connections.closeAll()
    }
}

/// Answers each request once its end arrives; a scraper's keep-alive connection is kept.
final class MetricsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let metrics: ProxyMetrics
    private var head: HTTPRequestHead?

    init(metrics: ProxyMetrics) {
        self.metrics = metrics
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
            let served = path == "/metrics" && (head.method == .GET || head.method == .HEAD)
            let status: HTTPResponseStatus = served ? .ok : .notFound
            let contentType = served ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8"
            let body = served ? metrics.render() : "not found: metrics are at GET /metrics\n"
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: contentType)
            headers.add(name: "content-length", value: String(body.utf8.count))
            if !head.isKeepAlive { headers.add(name: "connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
            if head.method != .HEAD {
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
            }
            let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !head.isKeepAlive {
                done.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            }
        }
    }
}
