import NIOCore
import NIOHTTP1

/// Last handler of a client connection: one request at a time, each routed when its head
/// arrives, streamed to an upstream connection of the same event loop and streamed back. Reads
/// from either side wait while the other side cannot take more bytes. Pipelined requests wait in
/// `queued` (and reads stop) until the response before them has ended; a client that does not
/// pipeline never has its reads paused, which saves two epoll_ctl calls per request.
///
/// Where the connection is lives in `state`, whose payloads carry the exchange in progress.
/// `state` changes only through `move(to:)`, which checks each move against the moves the
/// proxy makes, and every event checks the state it arrives in. An event or move that has no
/// business in the state (a body with no request, a second response head) is a bug, handled in
/// release builds too: a 500 when a request is in progress and nothing of its response was
/// sent, else the connection closes.
final class ProxyHandler: DeadlineWheelMember, ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = RequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    enum State {
        /// Waiting for the next request head.
        case idle
        /// The app's route holds: the request waits for a table that routes it.
        case holding(HeldRequest)
        /// Routed; the upstream connection is being made. Request parts wait in the exchange.
        case connecting(Exchange)
        /// Request and response flow between the client and `upstream`.
        case forwarding(Exchange, upstream: UpstreamHandler)
        /// The proxy answered the request itself; the rest of its body is read and dropped.
        case discardingBody
        /// Upgraded: the connection is a byte tunnel now, run by a pair of `TunnelHandler`s.
        case tunnelling
        /// The last response is being written; the connection closes after it.
        case closing
        /// The channel closed or this handler left it.
        case closed
    }

    let loop: LoopContext
    let clientDeadline: any RequestClock
    /// TLS or not, HTTP/1.x or an HTTP/2 stream.
    let connection: ClientConnection
    /// Encodes the responses of an HTTP/1.1 connection, told each request's method; nil on an
    /// HTTP/2 stream, whose codec frames responses itself (ProxyHandler+Send.swift).
    let responseEncoder: ClientResponseEncoder?
    var configuration: ProxyConfiguration { loop.shared.configuration }
    private(set) var context: ChannelHandlerContext?
    private(set) var state = State.idle
    /// Who the client is, for the forwarding headers.
    var client = ForwardedHeaders.Client(ip: "-", proto: "http")
    /// Events that arrived while an earlier request was still being answered, in order. Only
    /// pipelining clients queue at all, so the queue has storage only while something waits.
    var queued = OnDemandQueue<QueuedEvent>()
    private var deliveringQueued = false
    /// A read held back while the upstream is being connected or cannot take more, or while
    /// pipelined requests wait.
    private var readHeld = false
    /// Whether requests after the one in progress are taken.
    private(set) var continuation = Continuation.open
    /// Parts were sent to the client since the last flush (ProxyHandler+Send.swift).
    var unflushed = false

    init(loop: LoopContext, clientDeadline: any RequestClock, connection: ClientConnection = .plainHTTP1,
         responseEncoder: ClientResponseEncoder? = nil) {
        self.loop = loop
        self.clientDeadline = clientDeadline
        self.connection = connection
        self.responseEncoder = responseEncoder
    }

    // MARK: state

    /// The one place `state` changes. A move the proxy never makes means it lost track of the
    /// connection: the connection is closed rather than trusted.
    @discardableResult
    func move(to next: State) -> Bool {
        guard Self.allows(from: state, to: next) else {
            if case .closed = state { return false }
            state = .closing
            context?.close(promise: nil)
            return false
        }
        state = next
        return true
    }

    private static func allows(from current: State, to next: State) -> Bool {
        switch (current, next) {
        case (.closed, .closed): return true
        case (.closed, _): return false
        case (_, .closed), (_, .closing): return true
        case (.idle, .idle), (.idle, .connecting), (.idle, .forwarding), (.idle, .discardingBody), (.idle, .holding): return true
        case (.holding, .connecting), (.holding, .forwarding), (.holding, .idle), (.holding, .discardingBody): return true
        case (.connecting, .forwarding), (.connecting, .idle): return true
        case (.forwarding, .connecting), (.forwarding, .idle), (.forwarding, .tunnelling): return true
        case (.discardingBody, .idle): return true
        default: return false
        }
    }

    /// The exchange in progress, if the request went to an upstream.
    var exchange: Exchange? {
        switch state {
        case .connecting(let exchange), .forwarding(let exchange, _): return exchange
        default: return nil
        }
    }

    /// The only deadline a `ProxyHandler` keeps on the wheel: its exchange's response head.
    override func deadlineReached() {
        responseDeadlineReached()
    }

    // MARK: channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        identifyClient(context)
    }

    /// The context holds this handler, so keeping it past removal is a reference cycle that
    /// outlives the connection (handler, pipeline, buffers: about 4 KiB per connection).
    func handlerRemoved(context: ChannelHandlerContext) {
        loop.deadlines.clear(self)
        move(to: .closed)
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        // An accepted connection knows its peer when the handler is added; others learn it now.
        if client.ip == "-" { identifyClient(context) }
        context.fireChannelActive()
    }

    private func identifyClient(_ context: ChannelHandlerContext) {
        client = ForwardedHeaders.Client(ip: context.channel.remoteAddress?.clientText ?? "-", proto: connection.forwardedProto(configuration))
    }

    func channelInactive(context: ChannelHandlerContext) {
        switch state {
        case .connecting(let exchange):
            abandon(exchange, upstream: nil)
        case .forwarding(let exchange, let upstream):
            abandon(exchange, upstream: upstream)
        case .holding(let held):
            abandon(held)
        case .idle, .discardingBody, .tunnelling, .closing, .closed:
            break
        }
        move(to: .closed)
        loop.deadlines.clear(self)
        context.fireChannelInactive()
    }

    /// The client left in the middle of `exchange`.
    private func abandon(_ exchange: Exchange, upstream: UpstreamHandler?) {
        if !exchange.responseStarted { exchange.status = 499 }
        exchange.leave()
        exchange.longLived?.end(by: .client)
        if let upstream { release(upstream, reuse: false) }
        finish(exchange)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received(unwrapInboundIn(data))
    }

    /// One part of a request, from the handler before this one: through the pipeline, or
    /// straight from an HTTP/1.1 connection's `ClientRequestDecoder`.
    func received(_ part: RequestPart) {
        // Every head the decoder produced, in order, whatever becomes of it here: the encoder
        // pairs each response it writes with the oldest request not yet answered.
        if case .head(let head) = part { responseEncoder?.requestArrived(head.method) }
        switch state {
        case .closing, .closed, .tunnelling:
            // Once closing, nothing more is read: bytes after a refused request are never
            // parsed into requests that could reach an upstream.
            return
        case .idle, .connecting, .forwarding, .holding, .discardingBody:
            break
        }
        if mustQueue {
            queued.append(.part(part))
            return
        }
        deliver(part)
    }

    /// Whether a new event belongs to a later request than the one being answered.
    var mustQueue: Bool {
        if !queued.isEmpty { return true }
        return requestInProgressEnded
    }

    /// Whether the request being answered (forwarded or held) has been read to its end.
    var requestInProgressEnded: Bool {
        if case .holding(let held) = state { return held.requestEnded }
        return exchange?.requestEnded ?? false
    }

    private func deliver(_ part: RequestPart) {
        switch part {
        case .head(let head): requestHead(head)
        case .body(let body): requestBody(body)
        case .end(let trailers): requestEnd(trailers)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if case .forwarding(_, let upstream) = state { upstream.flushIfNeeded() }
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if readMustWait {
            readHeld = true
        } else {
            context.read()
        }
    }

    /// Reads wait while the upstream is being connected or cannot take more bytes, and while
    /// pipelined requests are queued.
    var readMustWait: Bool {
        if !queued.isEmpty { return true }
        switch state {
        case .connecting: return true
        // A held body waits unread; once the request has ended, reading goes on so that a
        // client that resets is noticed (what it pipelines is queued, which stops reads).
        case .holding(let held): return !held.requestEnded
        case .forwarding(_, let upstream): return upstream.context?.channel.isWritable == false
        case .idle, .discardingBody, .tunnelling, .closing, .closed: return false
        }
    }

    func releaseHeldRead() {
        guard readHeld, !readMustWait, let context else { return }
        if case .closed = state { return }
        readHeld = false
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, case .forwarding(_, let upstream) = state { upstream.resumeReading() }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            if queued.isEmpty {
                inputClosed()
            } else {
                queued.append(.inputClosed)
            }
        } else if event is ClientDeadline.BodyTimedOut {
            bodyTimedOut()
        } else if event is ChannelShouldQuiesceEvent {
            shutdownBegan()
        } else if event is ShutdownGraceEnded {
            shutdownGraceEnded()
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// Shutdown. An HTTP/1.1 connection is not closed under a client that may be sending its
    /// next request right now: what it sent is answered, and the first response with no later
    /// request received says `Connection: close` and ends it; an idle one waits for its next
    /// request (or the end of the grace period). An HTTP/2 stream (its connection has sent
    /// GOAWAY) finishes the request in progress.
    private func shutdownBegan() {
        if connection.http2 {
            continuation = .lastExchange
            queued.removeAll()
            if case .idle = state { closeClient() }
        } else if case .open = continuation {
            continuation = .quiescing
        }
    }

    /// The shutdown's grace period is over: no request after the one in progress, and an
    /// idle connection closes now.
    private func shutdownGraceEnded() {
        guard !connection.http2 else { return }
        continuation = .lastExchange
        queued.removeAll()
        switch state {
        case .idle, .discardingBody: closeClient()
        case .connecting, .forwarding, .holding, .tunnelling, .closing, .closed: break
        }
    }

    private func inputClosed() {
        // The client sent all it will send: answer what is in progress, then close.
        continuation = .lastExchange
        switch state {
        case .idle, .discardingBody: closeClient()
        case .connecting, .forwarding, .holding, .tunnelling, .closing, .closed: break
        }
    }

    /// The exchange ended and the connection stays open: go on with queued pipelined requests.
    func exchangeEnded() {
        clientDeadline.requestFinished()
        if lastExchange {
            closeClient()
            return
        }
        guard !deliveringQueued else { return }
        deliveringQueued = true
        defer { deliveringQueued = false }
        while let next = queued.first, !requestInProgressEnded {
            if case .closing = state { break }
            if case .closed = state { break }
            queued.removeFirst()
            switch next {
            case .part(let part): deliver(part)
            case .parserError(let refusal): parserError(refusal)
            case .inputClosed: inputClosed()
            }
        }
        switch state {
        case .closing, .closed: queued.removeAll()
        default: break
        }
        releaseHeldRead()
    }

    func closeClient() {
        if case .closed = state { return }
        move(to: .closing)
        context?.close(promise: nil)
    }
}

extension ProxyHandler {
    /// Whether a client connection takes requests after the one in progress.
    enum Continuation {
        /// As many as the client sends.
        case open
        /// Shutting down (HTTP/1.1): each response that starts with no later request received
        /// says `Connection: close`, and the connection ends after it.
        case quiescing
        /// None: the client finished sending, or the shutdown's grace period is over.
        case lastExchange
    }

    /// No request after the one in progress.
    var lastExchange: Bool {
        if case .lastExchange = continuation { return true }
        return false
    }

    /// Whether the response about to start is the connection's last, and says so.
    var responseEndsConnection: Bool {
        switch continuation {
        case .open: return false
        case .lastExchange: return true
        case .quiescing: return !laterRequestReceived
        }
    }

    /// Whether a request after the one in progress (or a malformed one, to be refused) waits
    /// in `queued`.
    private var laterRequestReceived: Bool {
        queued.contains { event in
            switch event {
            case .part(.head), .parserError: return true
            case .part, .inputClosed: return false
            }
        }
    }
}

/// What `ProxyHandler` keeps for later while a pipelined request waits its turn.
enum QueuedEvent {
    case part(RequestPart)
    case parserError(HTTPResponseStatus)
    case inputClosed
}
