import NIOCore
import NIOHTTP2

/// What `ClientDeadline` is to an HTTP/1.1 connection, for one HTTP/2 stream: the stream exists
/// because its request head arrived and ends with its response, so only the body deadline
/// applies. A body must arrive within the body timeout, plus one second for every
/// `clientBodyMinimumRate` bytes received (counted from DATA frames); when it does not, the
/// proxy hears `ClientDeadline.BodyTimedOut` (408, or a reset once the response started). The
/// deadline is scheduled when the read that set it completes, and only if it is still wanted
/// then, so a stream whose request ends with its head (a GET) schedules nothing.
final class StreamDeadline: ChannelInboundHandler, RemovableChannelHandler, RequestClock {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload

    private let bodyTimeout: TimeAmount
    private let bodyMinimumRate: Int
    /// The body being read: since when (its head, or the proxy's last hold) and how many bytes.
    private var body: (since: NIODeadline, bytes: Int)?
    private var reading = false
    private var timer: Scheduled<Void>?
    private var timerDeadline = NIODeadline.distantFuture
    private var context: ChannelHandlerContext?

    init(configuration: ProxyConfiguration) {
        bodyTimeout = configuration.clientBodyTimeout
        bodyMinimumRate = max(configuration.clientBodyMinimumRate, 1)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if let current = body, case .data(let frame) = unwrapInboundIn(data) {
            body = (current.since, current.bytes + frame.data.readableBytes)
        }
        reading = true
        context.fireChannelRead(data)
        reading = false
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        scheduleIfDue()
        context.fireChannelReadComplete()
    }

    func requestStarted(at time: NIODeadline) {
        body = (time, 0)
        if !reading { scheduleIfDue() }
    }

    func requestRead() {
        body = nil
    }

    func restartBodyClock() {
        guard body != nil else { return }
        body = (.now(), 0)
        scheduleIfDue()
    }

    func requestFinished() {
        body = nil
    }

    /// When the body is due, from what has arrived of it.
    private var due: NIODeadline? {
        body.map { $0.since + bodyTimeout + .nanoseconds(Int64($0.bytes) * 1_000_000_000 / Int64(bodyMinimumRate)) }
    }

    /// Schedules the check for the body's deadline unless one is scheduled no later.
    private func scheduleIfDue() {
        guard let due, timer == nil || due < timerDeadline, let context else { return }
        timer?.cancel()
        timerDeadline = due
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: due) { [self] in
            timer = nil
            timerDeadline = .distantFuture
            // The deadline only moves later as bytes come: check again then.
            guard let due = self.due else { return }
            if NIODeadline.now() < due {
                scheduleIfDue()
                return
            }
            body = nil
            self.context?.fireUserInboundEventTriggered(ClientDeadline.BodyTimedOut())
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
        timerDeadline = .distantFuture
    }
}
