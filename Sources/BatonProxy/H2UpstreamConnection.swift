import NIOCore
import NIOHTTP2

/// One HTTP/2 connection without TLS (h2c, by prior knowledge) to an app's target: many
/// exchanges at once, one stream each. Made lazily by its loop's `H2UpstreamPool` through the
/// proxy's `UpstreamConnector` (so sandbox targets are reached inside their network
/// namespace), and last in the connection's pipeline, after `NIOHTTP2Handler`, where it sees
/// the connection-level frames: the peer's SETTINGS (how many streams it takes at once) and
/// GOAWAY (no new streams). It counts the streams it carries, and closes once it has carried
/// none for the idle timeout, or once it is going away and the last one ended.
final class H2UpstreamConnection: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    /// A stream asked for while the connection is still being made.
    struct PendingStream {
        let promise: EventLoopPromise<any Channel>
        let initializer: NIOChannelInitializer
    }

    enum State {
        /// TCP connect in progress: streams asked for meanwhile wait here.
        case connecting([PendingStream])
        /// Streams open on `multiplexer`.
        case ready(NIOHTTP2Handler.StreamMultiplexer)
        /// The peer sent GOAWAY, or a drain retired the connection: the streams in flight
        /// finish, no new one starts, and the connection closes after the last.
        case goingAway
        case closed
    }

    let target: Target
    private(set) var state: State = .connecting([])
    /// Set by a drain while the connection is still being made: it goes away once made.
    private var retiring = false
    /// Streams asked for and not yet closed, those waiting for the connection included.
    private(set) var streams = 0
    /// SETTINGS_MAX_CONCURRENT_STREAMS of the peer. Until its SETTINGS arrive, 100: what RFC
    /// 9113 §6.5.2 recommends as the least a peer allows, and what NIOHTTP2 assumes too.
    private(set) var peerMaxStreams = 100
    private var context: ChannelHandlerContext?
    /// Set up with the pipeline, used once the connection is made.
    var multiplexer: NIOHTTP2Handler.StreamMultiplexer?
    private let idleTimeout: TimeAmount
    private var idleSince: NIODeadline?
    private var idleTimer: Scheduled<Void>?
    /// Tells the pool once, when the connection can carry nothing more.
    private var onClose: ((H2UpstreamConnection) -> Void)?

    init(target: Target, idleTimeout: TimeAmount, onClose: @escaping (H2UpstreamConnection) -> Void) {
        self.target = target
        self.idleTimeout = idleTimeout
        self.onClose = onClose
    }

    /// Whether a new stream may go on this connection now.
    var acceptsStreams: Bool {
        guard streams < peerMaxStreams, !retiring else { return false }
        switch state {
        case .connecting: return true
        case .ready: return context?.channel.isActive == true
        case .goingAway, .closed: return false
        }
    }

    /// Whether the connection is established (a stream on it may find it closed under it, as a
    /// pooled HTTP/1.1 connection may be).
    var isEstablished: Bool {
        if case .ready = state { return true }
        return false
    }

    // MARK: streams

    /// A new stream whose pipeline `initializer` sets up; the future holds its channel.
    func openStream(on eventLoop: any EventLoop, _ initializer: @escaping NIOChannelInitializer) -> EventLoopFuture<any Channel> {
        let stream = PendingStream(promise: eventLoop.makePromise(of: (any Channel).self), initializer: initializer)
        switch state {
        case .connecting(var pending):
            streams += 1
            pending.append(stream)
            state = .connecting(pending)
        case .ready(let multiplexer):
            streams += 1
            idleSince = nil
            start(stream, on: multiplexer)
        case .goingAway, .closed:
            stream.promise.fail(ChannelError.ioOnClosedChannel)
        }
        return stream.promise.futureResult
    }

    private func start(_ stream: PendingStream, on multiplexer: NIOHTTP2Handler.StreamMultiplexer) {
        let opened = stream.promise.futureResult.eventLoop.makePromise(of: (any Channel).self)
        multiplexer.createStreamChannel(promise: opened, stream.initializer)
        opened.futureResult.assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(let channel):
                channel.closeFuture.assumeIsolated().whenComplete { [self] _ in streamEnded() }
            case .failure:
                streamEnded()
            }
        }
        opened.futureResult.cascade(to: stream.promise)
    }

    private func streamEnded() {
        streams -= 1
        if streams == 0 { becameUnused() }
    }

    /// No stream left: an open connection waits for the idle timeout, one going away closes.
    private func becameUnused() {
        switch state {
        case .ready:
            let now = NIODeadline.now()
            idleSince = now
            if idleTimer == nil { scheduleIdleCheck(at: now + idleTimeout) }
        case .goingAway:
            close()
        case .connecting, .closed:
            break
        }
    }

    // MARK: lifecycle

    /// The TCP connection is up and HTTP/2 set up on it: waiting streams start.
    func connected() {
        guard case .connecting(let pending) = state, let multiplexer else {
            // Closed while it was being made.
            close()
            context?.close(promise: nil)
            return
        }
        state = .ready(multiplexer)
        for stream in pending { start(stream, on: multiplexer) }
        if retiring { state = .goingAway }
        if streams == 0 { becameUnused() }
    }

    /// The connection could not be made: every waiting stream fails with `error`.
    func failed(_ error: any Error) {
        guard case .connecting = state else { return }
        failWaiting(error)
        state = .closed
        finish()
    }

    /// No new streams; the connection closes once those in flight end (a drain's retirement).
    func retire() {
        switch state {
        case .connecting:
            retiring = true
        case .ready:
            state = .goingAway
            if streams == 0 { close() }
        case .goingAway, .closed:
            break
        }
    }

    /// Closes the connection now, streams in flight (and waiting) and all.
    func close() {
        if case .closed = state { return }
        failWaiting(ChannelError.ioOnClosedChannel)
        state = .closed
        idleTimer?.cancel()
        idleTimer = nil
        context?.close(promise: nil)
        finish()
    }

    private func failWaiting(_ error: any Error) {
        guard case .connecting(let pending) = state else { return }
        state = .connecting([])
        streams -= pending.count
        for stream in pending { stream.promise.fail(error) }
    }

    private func finish() {
        let onClose = self.onClose
        self.onClose = nil
        onClose?(self)
    }

    private func scheduleIdleCheck(at deadline: NIODeadline) {
        guard let context else { return }
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            idleTimer = nil
            guard case .ready = state, streams == 0, let since = idleSince else { return }
            let due = since + idleTimeout
            if NIODeadline.now() < due {
                scheduleIdleCheck(at: due)
                return
            }
            // A GOAWAY first, so the peer sees an orderly close (RFC 9113 §6.8).
            let goAway = HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: .rootStream, errorCode: .noError, opaqueData: nil))
            self.context?.writeAndFlush(wrapOutboundOut(goAway), promise: nil)
            close()
        }
    }

    // MARK: channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        idleTimer = nil
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .settings(.settings(let settings)):
            for setting in settings where setting.parameter == .maxConcurrentStreams {
                peerMaxStreams = setting.value
            }
        case .goAway:
            // Streams above its last stream id are closed by NIOHTTP2 (their exchanges fail);
            // the others finish. New exchanges go to a new connection.
            retire()
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        close()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // NIOHTTP2 reports here both a connection error (after its GOAWAY; it then parses
        // nothing more, so streams in flight would hang until their timeouts) and a stream
        // error, which the error does not tell apart. The connection is closed for either:
        // what breaks HTTP/2 on it is the app's doing (the proxy's requests are valid HTTP/2:
        // a client cannot send a field value HTTP/2 refuses through an HTTP/1.1 parser), so
        // only that app's requests in flight on it fail with it.
        close()
    }
}
