import NIOCore
import NIOHTTP1

/// Turns a client connection's bytes into HTTP/1.x request parts with `HTTP1Parser`, in place
/// of NIO's `ByteToMessageHandler(HTTPRequestDecoder)`: the same parts and errors, in the same
/// order, for a fraction of the work (see `HTTP1Parser`).
///
/// Bytes after an upgrade request (or `CONNECT`) are dropped, as NIO's `.dropBytes` does: the
/// connection becomes a tunnel only once the upstream agrees, and then only bytes read after
/// that go through it. After a refused message nothing more is parsed; the proxy answers and
/// closes.
final class ClientRequestDecoder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = RequestPart

    private let parser: HTTP1Parser
    /// The handler after this one, called directly: a part fired through the pipeline is
    /// boxed in `NIOAny` (an allocation for a head) and unboxed with a dynamic cast.
    var receiver: ProxyHandler?

    init(limits: HTTP1Parser.Limits) {
        parser = HTTP1Parser(.request, limits: limits)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        _ = parser.read(unwrapInboundIn(data), deliver: { pass($0, context) }, failed: { context.fireErrorCaught($0) })
    }

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

    func handlerRemoved(context: ChannelHandlerContext) {
        receiver = nil
    }

    private func pass(_ part: HTTP1Parser.Part, _ context: ChannelHandlerContext) {
        let request: RequestPart
        switch part {
        case .requestHead(let head): request = .head(head)
        case .body(let bytes): request = .body(bytes)
        case .end(let trailers): request = .end(trailers)
        case .responseHead: preconditionFailure("a response head from a request parser")
        }
        if let receiver, receiver.context != nil {
            receiver.received(request)
        } else {
            context.fireChannelRead(wrapInboundOut(request))
        }
    }
}
