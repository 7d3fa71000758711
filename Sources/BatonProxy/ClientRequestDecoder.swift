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
    /// Set once the parser refused bytes or saw the end of the input: nothing more is parsed.
    private var stopped = false
    private var parts: [HTTP1Parser.Part] = []
    /// The handler after this one, called directly: a part fired through the pipeline is
    /// boxed in `NIOAny` (an allocation for a head) and unboxed with a dynamic cast.
    var receiver: ProxyHandler?

    init(limits: HTTP1Parser.Limits) {
        parser = HTTP1Parser(.request, limits: limits)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !stopped, !parser.upgraded else { return }
        let failure: (any Error)?
        do {
            _ = try parser.parse(unwrapInboundIn(data), into: &parts)
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

    /// A request cut short by the end of the input is an error, as with NIO's decoder.
    private func endOfInput(_ context: ChannelHandlerContext) {
        guard !stopped else { return }
        stopped = true
        guard !parser.upgraded else { return }
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

    private func pass(_ part: RequestPart, _ context: ChannelHandlerContext) {
        if let receiver, receiver.context != nil {
            receiver.received(part)
        } else {
            context.fireChannelRead(wrapInboundOut(part))
        }
    }

    /// Sends on the parts parsed, then the error that stopped parsing, if any. The array is
    /// taken first: a handler after this one may cause another read to be parsed meanwhile.
    private func deliver(_ context: ChannelHandlerContext, failure: (any Error)?) {
        var ready: [HTTP1Parser.Part] = []
        swap(&ready, &parts)
        for part in ready {
            switch part {
            case .requestHead(let head): pass(.head(head), context)
            case .body(let bytes): pass(.body(bytes), context)
            case .end(let trailers): pass(.end(trailers), context)
            case .responseHead: preconditionFailure("a response head from a request parser")
            }
        }
        ready.removeAll(keepingCapacity: true)
        if parts.isEmpty { parts = ready }
        if let failure { context.fireErrorCaught(failure) }
    }
}
