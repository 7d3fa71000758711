import NIOCore
import NIOHTTP1

/// Turns an upstream connection's bytes into HTTP/1.x response parts with `HTTP1Parser`, in
/// place of NIO's `ByteToMessageHandler(HTTPResponseDecoder)`: the same parts and errors, with
/// interim (1xx) responses forwarded, for a fraction of the work.
///
/// A response to `HEAD` or `CONNECT` has no body whatever its head says, so the decoder must
/// know each request's method: `UpstreamRequestEncoder` hands it each head it encodes
/// (`requestSent`), in order, instead of the decoder watching the connection's writes.
///
/// After a `101 Switching Protocols` nothing more is parsed. The bytes that followed its head,
/// and any read after it, are kept and passed on, as raw bytes, when the handler leaves the
/// pipeline, to the tunnel handler that replaces it (NIO's `.forwardBytes`).
final class UpstreamResponseDecoder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = UpstreamResponsePart

    private let parser = HTTP1Parser(.response, limits: .nioDefaults)
    /// Set once the parser refused bytes or saw the end of the input.
    private var stopped = false
    /// Bytes after a 101's head, for the tunnel.
    private var afterUpgrade: ByteBuffer?
    private var parts: [HTTP1Parser.Part] = []
    /// The handler after this one, called directly: a part fired through the pipeline is
    /// boxed in `NIOAny` (an allocation for a head) and unboxed with a dynamic cast.
    var receiver: UpstreamHandler?

    /// A request with `method` went out: its response is the next one not yet read.
    func requestSent(_ method: HTTPMethod) { parser.requestSent(method) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !stopped else { return }
        var bytes = unwrapInboundIn(data)
        if parser.upgraded {
            afterUpgrade?.writeBuffer(&bytes)
            return
        }
        let failure: (any Error)?
        do {
            if let leftover = try parser.parse(bytes, into: &parts) { afterUpgrade = leftover }
            failure = nil
        } catch {
            stopped = true
            failure = error
        }
        deliver(context, failure: failure)
    }

    func channelInactive(context: ChannelHandlerContext) {
        endOfInput(context)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { endOfInput(context) }
        context.fireUserInboundEventTriggered(event)
    }

    func removeHandler(context: ChannelHandlerContext, removalToken: ChannelHandlerContext.RemovalToken) {
        if let afterUpgrade, afterUpgrade.readableBytes > 0 {
            self.afterUpgrade = nil
            context.fireChannelRead(NIOAny(afterUpgrade))
        }
        context.leavePipeline(removalToken: removalToken)
    }

    /// A body that runs to the connection's close ends here; a response cut short is an error.
    private func endOfInput(_ context: ChannelHandlerContext) {
        guard !stopped else { return }
        stopped = true
        let failure: (any Error)?
        do {
            try parser.finish(into: &parts)
            failure = nil
        } catch {
            failure = error
        }
        deliver(context, failure: failure)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        receiver = nil
    }

    private func pass(_ part: UpstreamResponsePart, _ context: ChannelHandlerContext) {
        if let receiver, receiver.context != nil {
            receiver.received(part)
        } else {
            context.fireChannelRead(wrapInboundOut(part))
        }
    }

    /// Sends on the parts parsed, then the error that stopped parsing, if any.
    private func deliver(_ context: ChannelHandlerContext, failure: (any Error)?) {
        var ready: [HTTP1Parser.Part] = []
        swap(&ready, &parts)
        for part in ready {
            switch part {
            case .responseHead(let head): pass(.head(head), context)
            case .body(let bytes): pass(.body(bytes), context)
            case .end(let trailers): pass(.end(trailers), context)
            case .requestHead: preconditionFailure("a request head from a response parser")
            }
        }
        ready.removeAll(keepingCapacity: true)
        if parts.isEmpty { parts = ready }
        if let failure { context.fireErrorCaught(failure) }
    }
}
