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
    /// Bytes after a 101's head, for the tunnel.
    private var afterUpgrade: ByteBuffer?
    /// The handler after this one, called directly: a part fired through the pipeline is
    /// boxed in `NIOAny` (an allocation for a head) and unboxed with a dynamic cast.
    var receiver: UpstreamHandler?

    /// A request with `method` went out: its response is the next one not yet read.
    func requestSent(_ method: HTTPMethod) { parser.requestSent(method) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if parser.upgraded {
            afterUpgrade?.writeBuffer(&bytes)
            return
        }
        if let leftover = parser.read(bytes, deliver: { pass($0, context) }, failed: { context.fireErrorCaught($0) }) {
            afterUpgrade = leftover
        }
    }

    /// A body that runs to the connection's close ends here; a response cut short is an error.
    func channelInactive(context: ChannelHandlerContext) {
        parser.endOfInput(deliver: { pass($0, context) }, failed: { context.fireErrorCaught($0) })
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            parser.endOfInput(deliver: { pass($0, context) }, failed: { context.fireErrorCaught($0) })
        }
        context.fireUserInboundEventTriggered(event)
    }

    func removeHandler(context: ChannelHandlerContext, removalToken: ChannelHandlerContext.RemovalToken) {
        if let afterUpgrade, afterUpgrade.readableBytes > 0 {
            self.afterUpgrade = nil
            context.fireChannelRead(NIOAny(afterUpgrade))
        }
        context.leavePipeline(removalToken: removalToken)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        receiver = nil
    }

    private func pass(_ part: HTTP1Parser.Part, _ context: ChannelHandlerContext) {
        let response: UpstreamResponsePart
        switch part {
        case .responseHead(let head): response = .head(head)
        case .body(let bytes): response = .body(bytes)
        case .end(let trailers): response = .end(trailers)
        case .requestHead: preconditionFailure("a request head from a response parser")
        }
        if let receiver, receiver.context != nil {
            receiver.received(response)
        } else {
            context.fireChannelRead(wrapInboundOut(response))
        }
    }
}
