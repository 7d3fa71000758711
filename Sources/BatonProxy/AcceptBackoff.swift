import Glibc
import NIOCore

/// First handler of the listening channel. When accept fails because the process or the system
/// is out of file descriptors (or socket memory), the connection waiting in the backlog keeps
/// the listener readable and NIO would try again at once, spinning a core for as long as the
/// shortage lasts. Instead the listener stops watching for connections for a while: 10 ms after
/// the first failure, twice as long after each failure in a row, at most 1 s. The first
/// connection accepted again starts the sequence over.
final class AcceptBackoff: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel

    static let firstDelay = TimeAmount.milliseconds(10)
    static let longestDelay = TimeAmount.seconds(1)

    private var delay: TimeAmount?
    private var resume: Scheduled<Void>?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        delay = nil
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let failure = error as? IOError, Self.isShortage(failure.errnoCode) else {
            context.fireErrorCaught(error)
            return
        }
        let next = delay.map { min($0 * 2, Self.longestDelay) } ?? Self.firstDelay
        delay = next
        guard resume == nil, let options = context.channel.syncOptions else { return }
        // Turning autoRead off takes the listener out of epoll; turning it on puts it back.
        try? options.setOption(.autoRead, value: false)
        resume = context.eventLoop.assumeIsolated().scheduleTask(in: next) { [self] in
            resume = nil
            try? context.channel.syncOptions?.setOption(.autoRead, value: true)
        }
    }

    /// Stops accepting for good (`StopAccepting`): no resume scheduled before may turn reads
    /// back on.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is StopAccepting else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        cancelResume()
        try? context.channel.syncOptions?.setOption(.autoRead, value: false)
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelResume()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelResume()
    }

    private func cancelResume() {
        resume?.cancel()
        resume = nil
    }

    private static func isShortage(_ code: CInt) -> Bool {
        code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM
    }
}

/// Sent to a listening channel before it closes: it accepts no more, while the connections it
/// accepted already finish their setup.
struct StopAccepting {}
