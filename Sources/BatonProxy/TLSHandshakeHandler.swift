import NIOCore
import NIOTLS

/// Last handler of an HTTPS connection until its TLS handshake is done. It bounds the handshake:
/// a client that connects and says nothing, dribbles its hello or stalls mid-handshake is closed
/// when the header timeout runs out, counted from the connection, so a handshake can pin a
/// connection no longer than a slow HTTP/1.1 request head can. A failed handshake (garbage, a
/// truncated hello, no common version or cipher) closes the connection quietly. Once the
/// handshake completes, `negotiated` sets up the protocol ALPN chose and this handler leaves.
final class TLSHandshakeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let timeout: TimeAmount
    /// Adds the handlers of the protocol ALPN chose (`h2`, `http/1.1` or none) after this one.
    private let negotiated: (any Channel, String?) throws -> Void
    private var timer: Scheduled<Void>?
    /// A shutdown began during the handshake: the protocol set up after it learns so at once.
    private var quiesceWhenReady = false

    init(timeout: TimeAmount, negotiated: @escaping (any Channel, String?) throws -> Void) {
        self.timeout = timeout
        self.negotiated = negotiated
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if timer == nil { arm(context) }
        context.fireChannelActive()
    }

    private func arm(_ context: ChannelHandlerContext) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted(let protocolName) = event {
            timer?.cancel()
            timer = nil
            do {
                try negotiated(context.channel, protocolName)
            } catch {
                context.close(promise: nil)
                return
            }
            if quiesceWhenReady { context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        } else if event is ChannelShouldQuiesceEvent {
            // Shutting down (or handing the listener over): the client connected to send a
            // request, and closing now would fail it. The handshake goes on within its timeout;
            // HTTP/1.1 then answers one request with `Connection: close`, HTTP/2 sends GOAWAY.
            quiesceWhenReady = true
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // NIOSSL hands on no application data before the handshake completes (no early data).
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A failed handshake: NIOSSL has sent its alert where it could.
        context.close(promise: nil)
    }
}
