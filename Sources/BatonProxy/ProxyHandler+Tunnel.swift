import NIOCore
import NIOHTTP1

extension ProxyHandler {
    /// The upstream agreed to switch protocols: send its 101 on, then turn both connections into
    /// a byte tunnel by replacing their HTTP handlers with a joined pair of `TunnelHandler`s.
    func startTunnel(_ head: HTTPResponseHead) {
        guard let handler = upstream, let upstreamContext = handler.context else { return }
        let upstreamChannel = upstreamContext.channel
        upstream = nil
        handler.owner = nil
        handler.markBroken()
        status = head.status.code
        responseStarted = true
        phase = .tunnelling
        let framed = ForwardedHeaders.clientResponse(head, clientVersion: clientVersion, keepAlive: true, upgrade: true)
        context.writeAndFlush(wrapOutboundOut(.head(framed.head)), promise: nil)

        // The tunnel counts as in flight until it closes, so a drain waits for it (up to its deadline).
        let loop = self.loop
        let target = handler.target
        let metrics = self.metrics
        inFlight = false
        finishExchange()
        let (clientEnd, upstreamEnd) = TunnelHandler.pair {
            target.leave()
            metrics?.inFlight.decrement()
            loop.closed(upstreamChannel, target: target.target)
        }
        handler.upgrading = true
        // The decoders are mid-read (the 101 came out of one): rebuild the pipelines after it.
        context.eventLoop.assumeIsolated().execute { [self] in
            joinTunnel(upstreamChannel: upstreamChannel, clientEnd: clientEnd, upstreamEnd: upstreamEnd)
        }
    }

    private func joinTunnel(upstreamChannel: any Channel, clientEnd: TunnelHandler, upstreamEnd: TunnelHandler) {
        do {
            let client = context.pipeline.syncOperations
            let server = upstreamChannel.pipeline.syncOperations
            try server.addHandler(upstreamEnd)
            try client.addHandler(clientEnd)
            // Client side first: bytes the upstream sent after its 101 are forwarded when its
            // decoder leaves, and must meet a client pipeline that takes raw bytes.
            let channel = context.channel
            _ = try client.removeHandler(context: client.context(handlerType: ByteToMessageHandler<HTTPRequestDecoder>.self))
            _ = try client.removeHandler(context: client.context(handlerType: HTTPResponseEncoder.self))
            _ = try client.removeHandler(context: client.context(handlerType: ClientDeadline.self))
            _ = client.removeHandler(self)
            _ = try server.removeHandler(context: server.context(handlerType: UpstreamHandler.self))
            _ = try server.removeHandler(context: server.context(handlerType: HTTPRequestEncoder.self))
            _ = try server.removeHandler(context: server.context(handlerType: ByteToMessageHandler<HTTPResponseDecoder>.self))
            channel.read()
            upstreamChannel.read()
        } catch {
            upstreamChannel.close(promise: nil)
            context.close(promise: nil)
        }
    }
}
