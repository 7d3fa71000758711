import NIOCore

/// One end of an upgraded connection (WebSocket and the like): bytes read here are written to
/// the partner unchanged. Reads wait while the partner cannot take more; when either side
/// closes, both close and `onClose` runs once.
final class TunnelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Shared by both ends so the close action runs once.
    final class Closer {
        private var action: (() -> Void)?
        init(_ action: @escaping () -> Void) { self.action = action }
        func run() {
            let action = self.action
            self.action = nil
            action?()
        }
    }

    private var partner: TunnelHandler?
    private var context: ChannelHandlerContext?
    private var readPending = false
    private var queued: [ByteBuffer] = []
    private let closer: Closer

    private init(closer: Closer) {
        self.closer = closer
    }

    /// Two joined ends; add one to each channel.
    static func pair(onClose: @escaping () -> Void) -> (TunnelHandler, TunnelHandler) {
        let closer = Closer(onClose)
        let first = TunnelHandler(closer: closer)
        let second = TunnelHandler(closer: closer)
        first.partner = second
        second.partner = first
        return (first, second)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        for buffer in queued { context.write(wrapOutboundOut(buffer), promise: nil) }
        if !queued.isEmpty { context.flush() }
        queued = []
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.send(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.context?.flush()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        shutDown()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        shutDown()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.resumeReading() }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if let partnerContext = partner?.context, !partnerContext.channel.isWritable {
            readPending = true
            return
        }
        context.read()
    }

    private func send(_ buffer: ByteBuffer) {
        guard let context else {
            queued.append(buffer)
            return
        }
        // Flushed at once: bytes a decoder hands over as it leaves the pipeline come without
        // a read-complete event that would flush them.
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    private func resumeReading() {
        guard readPending, let context else { return }
        readPending = false
        context.read()
    }

    private func shutDown() {
        let partner = self.partner
        self.partner = nil
        partner?.partner = nil
        context?.close(promise: nil)
        partner?.context?.close(promise: nil)
        closer.run()
    }
}
