import NIOCore
import NIOHTTP1

extension ProxyHandler {
    /// The upstream agreed to switch protocols: send its 101 on, then turn both connections into
    /// a byte tunnel by replacing their HTTP handlers with a joined pair of `TunnelHandler`s.
    func startTunnel(_ head: ResponseHead, exchange: Exchange, upstream: UpstreamHandler) {
        guard let context, let upstreamContext = upstream.context, move(to: .tunnelling) else { return }
        let upstreamChannel = upstreamContext.channel
        upstream.owner = nil
        upstream.markBroken()
        exchange.status = head.status.code
        let framed = ForwardedHeaders.clientResponse(head, clientVersion: exchange.request.version, keepAlive: true, upgrade: true)
        send(.head(framed.head), to: context, flush: true)

        // The tunnel counts as in flight until it closes, so a drain waits for it (up to its deadline).
        account(exchange.request, status: exchange.status, bytes: 0, metrics: exchange.metrics, target: exchange.target.label)
        let loop = self.loop
        // A WebSocket is long-lived: a drain lets it run to its own timeout, then ends it with a
        // close frame 1001. Other upgrades end with ordinary requests.
        let webSocket = head.headers["upgrade"].contains { $0.lowercased() == "websocket" }
        var ticket: LongLivedTicket?
        let (clientEnd, upstreamEnd) = TunnelHandler.pair(webSocket: webSocket) { closer in
            exchange.leave()
            ticket?.end(by: closer)
            loop.closed(upstreamChannel, target: exchange.target.target)
        }
        if webSocket {
            ticket = LongLivedTicket(loop: loop, target: exchange.target, upstream: upstreamChannel, connection: upstreamEnd)
        }
        upstream.upgrading = true
        // The decoders are mid-read (the 101 came out of one): rebuild the pipelines after it.
        context.eventLoop.assumeIsolated().execute { [self] in
            joinTunnel(context, upstreamChannel: upstreamChannel, clientEnd: clientEnd, upstreamEnd: upstreamEnd)
        }
    }

    private func joinTunnel(
        _ context: ChannelHandlerContext, upstreamChannel: any Channel, clientEnd: TunnelHandler, upstreamEnd: TunnelHandler
    ) {
        do {
            let client = context.pipeline.syncOperations
            let server = upstreamChannel.pipeline.syncOperations
            try server.addHandler(upstreamEnd)
            try client.addHandler(clientEnd)
            // Client side first: bytes the upstream sent after its 101 are forwarded when its
            // decoder leaves, and must meet a client pipeline that takes raw bytes.
            let channel = context.channel
            _ = try client.removeHandler(context: client.context(handlerType: ClientRequestDecoder.self))
            _ = client.removeHandler(self)
            _ = try server.removeHandler(context: server.context(handlerType: UpstreamHandler.self))
            _ = try server.removeHandler(context: server.context(handlerType: UpstreamResponseDecoder.self))
            channel.read()
            upstreamChannel.read()
        } catch {
            upstreamChannel.close(promise: nil)
            context.close(promise: nil)
        }
    }
}
