import NIOCore
import NIOHTTP2
import NIOSSL

/// Last handler of an HTTP/2 client connection, after `NIOHTTP2Handler`: it decides when the
/// connection ends. A client that opens no stream within the header timeout is closed (a
/// connection that says nothing holds nothing), as is one that has had no stream open for the
/// idle timeout. On shutdown (`ChannelShouldQuiesceEvent`), or once the client has finished
/// sending, it sends GOAWAY naming the last stream it took, lets the open streams finish and
/// closes when the last one has. A client that trips one of NIOHTTP2's abuse limits (rapid
/// resets, floods of control frames, empty frames or CONTINUATIONs, too many stream errors) is
/// closed at once, after the GOAWAY NIOHTTP2 sends it.
///
/// Streams are counted through `streamDelegate` (the inline multiplexer reports them there, not
/// in the pipeline).
final class HTTP2ConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private enum State {
        /// No stream yet: closed unless one opens within the header timeout.
        case awaitingFirstStream
        /// Serving; with no stream open it closes after the idle timeout.
        case serving
        /// GOAWAY sent: closes once no stream is open.
        case goingAway
        case closed
    }

    private var state = State.awaitingFirstStream
    private var openStreams = 0
    private var lastStreamID = HTTP2StreamID.rootStream
    private let headerTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let eventLoop: any EventLoop
    /// When the connection ends if no stream opens by then; nil while streams are open.
    private var deadline: NIODeadline?
    /// One scheduled check, re-armed lazily: streams opening and closing schedule nothing.
    private var timer: Scheduled<Void>?
    private var timerDeadline = NIODeadline.distantFuture
    private var context: ChannelHandlerContext?

    init(configuration: ProxyConfiguration, eventLoop: any EventLoop) {
        headerTimeout = configuration.clientHeaderTimeout
        idleTimeout = configuration.idleTimeout
        self.eventLoop = eventLoop
    }

    var streamDelegate: StreamDelegate { StreamDelegate(handler: NIOLoopBound(self, eventLoop: eventLoop)) }

    /// Reports streams opening and closing to the handler, on its event loop (where the
    /// multiplexer calls it).
    struct StreamDelegate: NIOHTTP2StreamDelegate {
        let handler: NIOLoopBound<HTTP2ConnectionHandler>

        func streamCreated(_ id: HTTP2StreamID, channel: any Channel) {
            handler.value.streamOpened(id)
        }

        func streamClosed(_ id: HTTP2StreamID, channel: any Channel) {
            handler.value.streamClosed()
        }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // Added once the connection is known to speak HTTP/2, so it is active already.
        arm(headerTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closed
        cancelTimer()
        context.fireChannelInactive()
    }

    private func streamOpened(_ id: HTTP2StreamID) {
        openStreams += 1
        if id > lastStreamID { lastStreamID = id }
        deadline = nil
        if case .awaitingFirstStream = state { state = .serving }
    }

    private func streamClosed() {
        openStreams -= 1
        guard openStreams == 0 else { return }
        switch state {
        case .serving:
            arm(idleTimeout)
        case .goingAway:
            // The stream's last frame may still wait in NIOHTTP2Handler for a flush: flush, and
            // close on the next tick, after the write.
            context?.flush()
            let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
            eventLoop.execute { loopBound.value.context?.close(promise: nil) }
        case .awaitingFirstStream, .closed:
            break
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Frames of the connection itself (SETTINGS, PING, GOAWAY) end here: NIOHTTP2Handler has
        // acted on them, and whatever follows in the pipeline (an HTTP/1.1 decoder on its way
        // out, after an h2c switch) must not see them.
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            goAway()
            return
        }
        if case ChannelEvent.inputClosed = event {
            // The client sends nothing more; what it asked for is answered first.
            goAway()
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Stream errors come here too (after their RST_STREAM) and leave the other streams be.
        if Self.endsConnection(error) { context.close(promise: nil) }
    }

    /// Errors after which the connection is of no more use: an abusive client, a broken
    /// transport.
    private static func endsConnection(_ error: any Error) -> Bool {
        error is NIOHTTP2Errors.ExcessiveRSTFrames || error is NIOHTTP2Errors.ExcessiveStreamErrors
            || error is NIOHTTP2Errors.ExcessiveNumberOfGlitches || error is NIOHTTP2Errors.ExcessiveControlFrames
            || error is NIOHTTP2Errors.ExcessiveEmptyDataFrames || error is NIOHTTP2Errors.ExcessiveContinuationFrames
            || error is NIOHTTP2Errors.ExcessivelyLargeHeaderBlock || error is NIOHTTP2Errors.ExcessiveOutboundFrameBuffering
            || error is NIOHTTP2Errors.BadClientMagic || error is NIOHTTP2Errors.UnableToParseFrame
            || error is NIOSSLError || error is IOError
    }

    /// Tells the client no stream after the last one it opened will be served, and closes once
    /// the open ones have finished (at once when none is open).
    private func goAway() {
        guard let context else { return }
        switch state {
        case .awaitingFirstStream, .serving:
            state = .goingAway
            deadline = nil
            let frame = HTTP2Frame(
                streamID: .rootStream, payload: .goAway(lastStreamID: lastStreamID, errorCode: .noError, opaqueData: nil))
            if openStreams == 0 {
                context.writeAndFlush(wrapOutboundOut(frame)).assumeIsolated().whenComplete { [self] _ in
                    self.context?.close(promise: nil)
                }
            } else {
                context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
            }
        case .goingAway, .closed:
            break
        }
    }

    private func arm(_ timeout: TimeAmount) {
        let due = NIODeadline.now() + timeout
        deadline = due
        if timer == nil || due < timerDeadline { schedule(at: due) }
    }

    private func schedule(at due: NIODeadline) {
        timer?.cancel()
        timerDeadline = due
        timer = eventLoop.assumeIsolated().scheduleTask(deadline: due) { [self] in
            timer = nil
            timerDeadline = .distantFuture
            guard let deadline else { return }
            if NIODeadline.now() < deadline {
                schedule(at: deadline)
                return
            }
            // Idle (or never used) that long: nothing is lost by ending it now.
            self.deadline = nil
            if openStreams == 0 { goAway() }
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
        deadline = nil
    }
}
