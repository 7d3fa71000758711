import NIOCore
import NIOHTTP1

/// Receiver of one upstream connection's events; the client-side handler of the exchange
/// currently using the connection.
protocol UpstreamOwner: AnyObject {
    func upstreamHead(_ head: HTTPResponseHead)
    func upstreamBody(_ body: ByteBuffer)
    func upstreamEnd()
    func upstreamReadComplete()
    func upstreamWritable()
    func upstreamFailed(_ error: (any Error)?)
    /// Whether the client can take more bytes; upstream reads wait while it cannot.
    var clientWritable: Bool { get }
}

/// Last handler of an upstream connection: hands response parts to the owning exchange and
/// holds upstream reads while the client is not writable (backpressure).
final class UpstreamHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    let target: TargetState
    weak var owner: (any UpstreamOwner)?
    private(set) var context: ChannelHandlerContext?
    private var readPending = false
    private let loop: LoopContext
    /// Set once the connection has been closed or failed; it is then never pooled.
    private(set) var broken = false
    /// Set after a 101: the rest of the HTTP response (its end) is not for anyone.
    var upgrading = false

    init(target: TargetState, loop: LoopContext) {
        self.target = target
        self.loop = loop
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        loop.opened(context.channel, target: target.target)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        broken = true
        loop.closed(context.channel, target: target.target)
        if let owner {
            self.owner = nil
            owner.upstreamFailed(nil)
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if upgrading { return }
        guard let owner else {
            // A response nobody asked for: the connection is out of step, drop it.
            broken = true
            context.close(promise: nil)
            return
        }
        switch unwrapInboundIn(data) {
        case .head(let head): owner.upstreamHead(head)
        case .body(let body): owner.upstreamBody(body)
        case .end: owner.upstreamEnd()
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        owner?.upstreamReadComplete()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        broken = true
        if let owner {
            self.owner = nil
            owner.upstreamFailed(error)
        }
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { owner?.upstreamWritable() }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if let owner, !owner.clientWritable {
            readPending = true
            return
        }
        context.read()
    }

    /// The client drained its buffer: resume reading the response.
    func resumeReading() {
        guard readPending, let context else { return }
        readPending = false
        context.read()
    }

    func markBroken() { broken = true }
}

extension UpstreamHandler {
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A pooled connection unused for the idle timeout is closed; a busy one is left alone
        // (a quiet stream such as server-sent events is not idle).
        if event is IdleStateHandler.IdleStateEvent, owner == nil {
            broken = true
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
