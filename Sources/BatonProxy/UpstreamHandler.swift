import NIOCore
import NIOHTTP1

/// Receiver of one upstream connection's events; the client-side handler of the exchange
/// currently using the connection.
protocol UpstreamOwner: AnyObject {
    func upstreamHead(_ head: ResponseHead)
    func upstreamBody(_ body: ByteBuffer)
    /// The response ended; `trailers` as the upstream sent them, if any.
    func upstreamEnd(trailers: HTTPHeaders?)
    func upstreamReadComplete()
    func upstreamWritable()
    func upstreamFailed(_ error: (any Error)?)
    /// Whether the client can take more bytes; upstream reads wait while it cannot.
    var clientWritable: Bool { get }
}

/// Last handler of an upstream connection: hands response parts to the owning exchange, holds
/// upstream reads while the client is not writable (backpressure), and closes the connection
/// once it has sat in the pool for the idle timeout. The idle timer is re-armed lazily (not per
/// request), and nothing wraps writes, so reuse costs no allocation. On an h2c target it is the
/// last handler of one HTTP/2 stream instead (`multiplexed`): used once, never pooled; its
/// connection belongs to the loop's `H2UpstreamPool`.
final class UpstreamHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = UpstreamResponsePart
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
    private let idleTimeout: TimeAmount
    /// When the connection went back to the pool; nil while an exchange uses it.
    private var idleSince: NIODeadline?
    private var idleTimer: Scheduled<Void>?
    /// An HTTP/2 stream's handler rather than a connection's.
    let multiplexed: Bool
    /// The stream's response has ended (only tracked for streams).
    private var responseEnded = false
    /// Encodes the requests of an HTTP/1.1 connection; nil on an HTTP/2 stream, whose codec
    /// takes request parts as they are.
    private let requestEncoder: UpstreamRequestEncoder?
    /// Parts were sent since the last flush.
    private var unflushed = false

    init(
        target: TargetState, loop: LoopContext, idleTimeout: TimeAmount, multiplexed: Bool = false,
        requestEncoder: UpstreamRequestEncoder? = nil
    ) {
        self.target = target
        self.loop = loop
        self.idleTimeout = idleTimeout
        self.multiplexed = multiplexed
        self.requestEncoder = requestEncoder
    }

    /// Sends one part of the request upstream.
    func send(_ part: UpstreamRequestPart) {
        guard let context else { return }
        if let requestEncoder {
            // The end of a request that is not chunked writes no bytes: nothing to flush.
            if requestEncoder.write(part, to: context, promise: nil) { unflushed = true }
        } else {
            context.write(wrapOutboundOut(part.nio), promise: nil)
            unflushed = true
        }
    }

    /// Flushes what `send` wrote since the last flush, if anything: a flush with nothing to
    /// write still walks the pipeline to the socket.
    func flushIfNeeded() {
        guard unflushed, let context else { return }
        unflushed = false
        context.flush()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        idleTimer = nil
        self.context = nil
    }

    /// Whether the connection can carry another exchange.
    var isReusable: Bool { !multiplexed && !broken && context?.channel.isActive == true }

    /// The exchange on this stream is over. A stream whose response ended closes by itself
    /// once the request's end has gone out too; closing it now would send a needless
    /// RST_STREAM. One whose response has not ended is reset.
    func finishStream() {
        broken = true
        if !responseEnded { context?.close(promise: nil) }
    }

    /// The connection went into the pool.
    func becameIdle() {
        let now = NIODeadline.now()
        idleSince = now
        if idleTimer == nil { scheduleIdleCheck(at: now + idleTimeout) }
    }

    /// The connection was taken from the pool for an exchange.
    func becameBusy() {
        idleSince = nil
    }

    private func scheduleIdleCheck(at deadline: NIODeadline) {
        guard let context else { return }
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            idleTimer = nil
            // Busy now: the next return to the pool arms the timer again.
            guard let since = idleSince, !broken, let context = self.context else { return }
            let due = since + idleTimeout
            if NIODeadline.now() < due {
                scheduleIdleCheck(at: due)
                return
            }
            broken = true
            loop.removeIdle(self)
            context.close(promise: nil)
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        // A stream closes with its connection, which the h2c pool tracks.
        if !multiplexed { loop.opened(context.channel, target: target.target) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        broken = true
        idleTimer?.cancel()
        idleTimer = nil
        loop.closed(context.channel, handler: self)
        if let owner {
            self.owner = nil
            owner.upstreamFailed(nil)
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received(unwrapInboundIn(data))
    }

    /// One part of a response, from the handler before this one: through the pipeline, or
    /// straight from an HTTP/1.1 connection's `UpstreamResponseDecoder`.
    func received(_ part: UpstreamResponsePart) {
        if upgrading { return }
        guard let owner else {
            // A response nobody asked for: the connection is out of step, drop it.
            broken = true
            context?.close(promise: nil)
            return
        }
        switch part {
        case .head(var head):
            // The exchange reads HTTP/1.1 keep-alive from the head to know whether the
            // connection may go on; a stream is never reused, and one that ends has ended
            // cleanly (closing it then would send a needless RST_STREAM).
            if multiplexed { head = ResponseHead(version: .http1_1, status: head.status, headers: head.headers, isKeepAlive: true) }
            owner.upstreamHead(head)
        case .body(let body): owner.upstreamBody(body)
        case .end(let trailers):
            if multiplexed { responseEnded = true }
            owner.upstreamEnd(trailers: trailers)
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
