import NIOCore

/// Sits first in a client connection's pipeline and closes connections that take too long to
/// send a request head (slow-header clients) or sit idle between requests. One scheduled task
/// per connection is re-armed lazily, so the request path schedules nothing.
final class ClientDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum Phase {
        case readingHead
        case busy
        case idle
    }

    private let headerTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private var phase = Phase.readingHead
    private var deadline: NIODeadline?
    private var scheduled: Scheduled<Void>?
    private var scheduledFor: NIODeadline = .distantFuture
    private var context: ChannelHandlerContext?
    /// The bytes being read, while the handlers after this one see them: a parser error raised
    /// meanwhile is explained from them. Not kept past the read: it would pin the event loop's
    /// receive buffer (a fresh allocation for every next read) for as long as the connection lives.
    private(set) var lastRead: ByteBuffer?

    init(configuration: ProxyConfiguration) {
        headerTimeout = configuration.clientHeaderTimeout
        idleTimeout = configuration.idleTimeout
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
        scheduled?.cancel()
        scheduled = nil
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        scheduled?.cancel()
        scheduled = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastRead = unwrapInboundIn(data)
        if case .idle = phase {
            phase = .readingHead
            arm(.now() + headerTimeout)
        }
        context.fireChannelRead(data)
        lastRead = nil
    }

    /// A complete request head arrived at `time`: no deadline while it is served.
    func requestStarted(at time: NIODeadline) {
        phase = .busy
        deadline = nil
    }

    /// The whole request was read.
    func requestRead() {}

    /// The response ended and the connection stays open: the idle deadline starts.
    func requestFinished() {
        phase = .idle
        arm(.now() + idleTimeout)
    }

    private func arm(_ newDeadline: NIODeadline) {
        deadline = newDeadline
        if scheduled == nil || newDeadline < scheduledFor { schedule(at: newDeadline) }
    }

    private func schedule(at when: NIODeadline) {
        guard let context else { return }
        scheduled?.cancel()
        scheduledFor = when
        scheduled = context.eventLoop.assumeIsolated().scheduleTask(deadline: when) { [self] in
            fire()
        }
    }

    private func fire() {
        scheduled = nil
        guard let deadline, let context else { return }
        if NIODeadline.now() < deadline {
            schedule(at: deadline)
            return
        }
        self.deadline = nil
        context.close(promise: nil)
    }
}
