import NIOCore

/// What the proxy tells the deadlines of the client it serves as a request goes along: an
/// HTTP/1.x connection's `ClientDeadline`, or an HTTP/2 stream's `StreamDeadline`.
protocol RequestClock: AnyObject {
    /// A complete request head arrived at `time`: its body (if any) is due by the body deadline.
    func requestStarted(at time: NIODeadline)
    /// The whole request was read: no deadline while it is served.
    func requestRead()
    /// The proxy itself held the body back: the client's time starts again from now.
    func restartBodyClock()
    /// The response ended: on a connection that stays open the idle deadline starts.
    func requestFinished()
    /// The bytes being read while a parser error is raised, to explain it.
    var lastReadBytes: ByteBuffer? { get }
}

/// Sits first in a client connection's pipeline and closes connections that take too long to
/// send a request head (slow-header clients) or sit idle between requests, and tells the proxy
/// (`BodyTimedOut`) when a request body comes too slowly. Its deadline is a place on its event
/// loop's `DeadlineWheel`, moved lazily: only to an earlier time, so the request path mostly
/// moves nothing.
final class ClientDeadline: DeadlineWheelMember, ChannelInboundHandler, RemovableChannelHandler, RequestClock {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// Sent down the pipeline when a request body is late; the proxy answers 408 or closes.
    struct BodyTimedOut {}

    private enum Phase {
        case readingHead
        /// A request body is being read: `bytes` of it (and of its framing) since `since`.
        case readingBody(since: NIODeadline, bytes: Int)
        case busy
        case idle
    }

    private let headerTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let bodyTimeout: TimeAmount
    private let bodyMinimumRate: Int
    private var phase = Phase.readingHead
    private var deadline: NIODeadline?
    private let wheel: DeadlineWheel
    private var context: ChannelHandlerContext?
    /// The bytes being read, while the handlers after this one see them: a parser error raised
    /// meanwhile is explained from them. Not kept past the read: it would pin the event loop's
    /// receive buffer (a fresh allocation for every next read) for as long as the connection lives.
    private(set) var lastRead: ByteBuffer?
    /// On a plain connection until its first bytes have been seen: whether they are HTTP/2's
    /// preface (h2c with prior knowledge). Looking here, in the handler every read passes
    /// anyway, costs an HTTP/1.1 connection one byte compare and no handler of its own.
    var priorKnowledge: PriorKnowledge?

    var lastReadBytes: ByteBuffer? { lastRead }

    init(configuration: ProxyConfiguration, wheel: DeadlineWheel) {
        headerTimeout = configuration.clientHeaderTimeout
        idleTimeout = configuration.idleTimeout
        bodyTimeout = configuration.clientBodyTimeout
        bodyMinimumRate = max(configuration.clientBodyMinimumRate, 1)
        self.wheel = wheel
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { arm(.now() + headerTimeout) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(.now() + headerTimeout)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        wheel.clear(self)
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        wheel.clear(self)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        var data = data
        if let priorKnowledge {
            switch priorKnowledge.look(at: buffer, context: context) {
            case .http1(let bytes):
                self.priorKnowledge = nil
                if bytes.readableBytes != buffer.readableBytes {
                    buffer = bytes
                    data = wrapInboundOut(bytes)
                }
            case .held, .http2:
                return
            }
        }
        switch phase {
        case .idle:
            phase = .readingHead
            arm(.now() + headerTimeout)
        case .readingBody(let since, let bytes):
            // Later, never sooner: the scheduled check finds the new deadline when it fires.
            phase = .readingBody(since: since, bytes: bytes + buffer.readableBytes)
            deadline = bodyDeadline(since: since, bytes: bytes + buffer.readableBytes)
        case .readingHead, .busy:
            break
        }
        lastRead = buffer
        context.fireChannelRead(data)
        lastRead = nil
    }

    /// A complete request head arrived at `time`: its body (if any) is due by the body deadline.
    func requestStarted(at time: NIODeadline) {
        phase = .readingBody(since: time, bytes: 0)
        arm(time + bodyTimeout)
    }

    /// The whole request was read: no deadline while it is served.
    func requestRead() {
        phase = .busy
        deadline = nil
    }

    /// The proxy itself held the body back (its upstream was slow to take it): the client's
    /// time starts again from now.
    func restartBodyClock() {
        guard case .readingBody = phase else { return }
        let now = NIODeadline.now()
        phase = .readingBody(since: now, bytes: 0)
        arm(now + bodyTimeout)
    }

    /// `bodyTimeout` after the head, and one second more for every `bodyMinimumRate` bytes: a
    /// body must come at that rate on average, whatever its size, once the timeout is used up.
    private func bodyDeadline(since: NIODeadline, bytes: Int) -> NIODeadline {
        since + bodyTimeout + .nanoseconds(Int64(bytes) * 1_000_000_000 / Int64(bodyMinimumRate))
    }

    /// The response ended and the connection stays open: the idle deadline starts.
    func requestFinished() {
        phase = .idle
        arm(.now() + idleTimeout)
    }

    private func arm(_ newDeadline: NIODeadline) {
        deadline = newDeadline
        guard context != nil else { return }
        if !onWheel || newDeadline < wheelDue { wheel.set(self, at: newDeadline) }
    }

    override func deadlineReached() {
        guard let deadline, let context else { return }
        if NIODeadline.now() < deadline {
            wheel.set(self, at: deadline)
            return
        }
        self.deadline = nil
        if case .readingBody = phase {
            context.fireUserInboundEventTriggered(BodyTimedOut())
        } else {
            context.close(promise: nil)
        }
    }
}
