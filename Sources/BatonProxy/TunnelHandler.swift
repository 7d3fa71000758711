import NIOCore

/// One end of an upgraded connection (WebSocket and the like): bytes read here are written to
/// the partner unchanged. Reads wait while the partner cannot take more; when either side
/// closes, both close and `onClose` runs once, told which side closed first. On a WebSocket the
/// upstream end follows the frames it forwards (`WebSocketFrameTracker`), so that `goAway()`
/// can end the client's stream with a close frame 1001 between two frames.
final class TunnelHandler: ChannelDuplexHandler, RemovableChannelHandler, LongLivedConnection {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Shared by both ends so the close action runs once.
    final class Closer {
        private var action: ((LongLivedCloser) -> Void)?
        /// The side that finished sending first (a half-close), which ended the tunnel.
        private var first: LongLivedCloser?
        init(_ action: @escaping (LongLivedCloser) -> Void) { self.action = action }
        func finishedSending(_ side: LongLivedCloser) {
            if first == nil { first = side }
        }
        func run(_ closer: LongLivedCloser) {
            let action = self.action
            self.action = nil
            action?(first ?? closer)
        }
    }

    /// Where the stream from the upstream to the client is, for a WebSocket.
    enum Frames {
        /// Not a WebSocket, or the client end: bytes pass untracked.
        case untracked
        case tracking(WebSocketFrameTracker)
        /// Asked to go away mid-frame: the rest of the frame goes on, then the close frame.
        case closingAtBoundary(WebSocketFrameTracker)
        /// The close frame went out (or cannot): nothing more is forwarded to the client.
        case closed
    }

    private var partner: TunnelHandler?
    private var context: ChannelHandlerContext?
    private var readPending = false
    private var queued: [ByteBuffer] = []
    /// Removed from its channel: nothing more is queued for it.
    private var gone = false
    private let closer: Closer
    /// Who this end faces: its channel going away means that side closed.
    private let side: LongLivedCloser
    private var frames: Frames

    private init(closer: Closer, side: LongLivedCloser, frames: Frames) {
        self.closer = closer
        self.side = side
        self.frames = frames
    }

    /// Two joined ends: the client's first, the upstream's second; add one to each channel.
    /// `webSocket`: the upstream end tracks the frames it forwards.
    static func pair(webSocket: Bool = false, onClose: @escaping (LongLivedCloser) -> Void) -> (TunnelHandler, TunnelHandler) {
        let closer = Closer(onClose)
        let first = TunnelHandler(closer: closer, side: .client, frames: .untracked)
        let second = TunnelHandler(closer: closer, side: .app, frames: webSocket ? .tracking(WebSocketFrameTracker()) : .untracked)
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
        gone = true
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        switch frames {
        case .untracked:
            partner?.send(buffer)
        case .tracking(var tracker):
            _ = tracker.advance(buffer.readableBytesView)
            frames = .tracking(tracker)
            partner?.send(buffer)
        case .closingAtBoundary(var tracker):
            let upToBoundary = tracker.advance(buffer.readableBytesView, stopAtBoundary: true)
            if upToBoundary > 0 { partner?.send(buffer.getSlice(at: buffer.readerIndex, length: upToBoundary)!) }
            if tracker.atBoundary {
                sendGoingAway()
            } else {
                frames = .closingAtBoundary(tracker)
            }
        case .closed:
            break
        }
    }

    /// On the upstream end of a WebSocket: the client gets a close frame 1001 as soon as the
    /// stream to it is between frames, then both connections close. Elsewhere: both close.
    func goAway() {
        switch frames {
        case .tracking(let tracker) where tracker.atBoundary:
            sendGoingAway()
        case .tracking(let tracker):
            frames = .closingAtBoundary(tracker)
        case .untracked:
            shutDown(closer: .baton)
        case .closingAtBoundary, .closed:
            break
        }
    }

    private func sendGoingAway() {
        frames = .closed
        guard let partner, let clientContext = partner.context else {
            shutDown(closer: .baton)
            return
        }
        // The upstream is done with: nothing more of it reaches the client after the close frame.
        context?.close(promise: nil)
        let frame = WebSocketFrameTracker.goingAway(allocator: clientContext.channel.allocator)
        clientContext.writeAndFlush(wrapOutboundOut(frame)).assumeIsolated().whenComplete { [self] _ in shutDown(closer: .baton) }
        // A client that reads nothing more cannot keep its connection: it closes a second later.
        clientContext.eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) { [self] in shutDown(closer: .baton) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.context?.flush()
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case ChannelEvent.inputClosed = event else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // This side sent all it will (a client's FIN): the other side learns it the same way.
        closer.finishedSending(side)
        partner?.context?.close(mode: .output, promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        shutDown(closer: side)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        shutDown(closer: side)
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
            // Before this end joins its channel, bytes wait; after it left (its connection
            // closed while the other end goes on for a moment), they are dropped, not kept.
            if !gone { queued.append(buffer) }
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

    private func shutDown(closer who: LongLivedCloser) {
        // Going away, the upstream closes first; the client's close frame is still on its way.
        if case .closed = frames, who == .app, partner?.context != nil {
            return
        }
        let partner = self.partner
        self.partner = nil
        partner?.partner = nil
        context?.close(promise: nil)
        partner?.context?.close(promise: nil)
        closer.run(who)
    }
}
