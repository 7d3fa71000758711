import BatonOS
import NIOCore
import NIOHTTP1

/// Last handler of a client connection: one request at a time, each routed when its head
/// arrives, streamed to an upstream connection of the same event loop and streamed back. Reads
/// from either side wait while the other side cannot take more bytes. Pipelined requests wait in
/// `queued` (and reads stop) until the response before them has ended; a client that does not
/// pipeline never has its reads paused, which saves two epoll_ctl calls per request.
final class ProxyHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    enum Phase {
        /// Waiting for the next request head.
        case idle
        /// Routed; the upstream connection is being made. Request parts wait in `pending`.
        case connecting
        /// Request and response flow between client and upstream.
        case forwarding
        /// The proxy answered itself; the rest of the request body is read and dropped.
        case local
        /// Upgraded: the connection is a byte tunnel now, handled elsewhere.
        case tunnelling
        /// The connection is closing.
        case closed
    }

    let loop: LoopContext
    let clientDeadline: ClientDeadline
    var configuration: ProxyConfiguration { loop.shared.configuration }
    var context: ChannelHandlerContext!
    var clientIP = "-"
    var phase = Phase.idle

    // The exchange in progress; reset by `resetExchange`.
    var method = HTTPMethod.GET
    var uri = ""
    var hostHeader = ""
    var clientVersion = HTTPVersion.http1_1
    var requestID = ""
    var startedAt = NIODeadline.now()
    var keepAlive = true
    var upgradeRequested = false
    var route: ResolvedRoute?
    var metrics: AppMetrics?
    var upstream: UpstreamHandler?
    var upstreamRequest: HTTPRequestHead?
    var reusedConnection = false
    var retried = false
    var pending: [HTTPServerRequestPart] = []
    var requestEnded = false
    var responseStarted = false
    var upstreamKeepAlive = true
    var closeAfterResponse = false
    var status: UInt = 0
    var bytesSent = 0
    var bodyBytes = 0
    var inFlight = false
    var readPending = false
    var responseDeadline: NIODeadline?
    var responseTimer: Scheduled<Void>?

    /// Events that arrived while an earlier request was still being answered, in order.
    var queued = CircularBuffer<QueuedEvent>()
    var deliveringQueued = false
    /// The server is shutting down: close after the exchange in progress.
    var quiescing = false

    init(loop: LoopContext, clientDeadline: ClientDeadline) {
        self.loop = loop
        self.clientDeadline = clientDeadline
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        clientIP = context.channel.remoteAddress?.ipAddress ?? "-"
    }

    /// The context holds this handler, so keeping it past removal is a reference cycle that
    /// outlives the connection (handler, pipeline, buffers: about 4 KiB per connection).
    func handlerRemoved(context: ChannelHandlerContext) {
        cancelResponseTimer()
        phase = .closed
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        clientIP = context.channel.remoteAddress?.ipAddress ?? "-"
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Once closing, nothing more is read: bytes after a refused request are never parsed
        // into requests that could reach an upstream.
        guard phase != .closed else { return }
        let part = unwrapInboundIn(data)
        if mustQueue {
            queued.append(.part(part))
            return
        }
        deliver(part)
    }

    /// Whether a new event belongs to a later request than the one being answered.
    var mustQueue: Bool {
        !queued.isEmpty || (requestEnded && (phase == .connecting || phase == .forwarding))
    }

    func deliver(_ part: HTTPServerRequestPart) {
        switch part {
        case .head(let head):
            startRequest(head)
        case .body(let body):
            requestBody(body)
        case .end(let trailers):
            requestEnd(trailers)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if phase == .forwarding { upstream?.context?.flush() }
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if readMustWait {
            readPending = true
        } else {
            context.read()
        }
    }

    /// Reads wait while the upstream is being connected or cannot take more bytes, and while
    /// pipelined requests are queued.
    var readMustWait: Bool {
        if !queued.isEmpty { return true }
        switch phase {
        case .connecting: return true
        case .forwarding: return upstream?.context?.channel.isWritable == false
        default: return false
        }
    }

    func releaseHeldRead() {
        guard readPending, !readMustWait, phase != .closed else { return }
        readPending = false
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { upstream?.resumeReading() }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if phase == .connecting || phase == .forwarding {
            if !responseStarted { status = 499 }
            detachUpstream(reuse: false)
            finishExchange()
        }
        phase = .closed
        cancelResponseTimer()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            if queued.isEmpty {
                inputClosed()
            } else {
                queued.append(.inputClosed)
            }
            return
        }
        if event is ChannelShouldQuiesceEvent {
            // Shutdown: no further request on this connection; the one in progress finishes.
            quiescing = true
            queued.removeAll()
            keepAlive = false
            if phase == .idle { closeClient() }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func inputClosed() {
        // The client sent all it will send: answer what is in progress, then close.
        keepAlive = false
        closeAfterResponse = true
        if phase == .idle || phase == .local { closeClient() }
    }

    /// The exchange ended and the connection stays open: go on with queued pipelined requests.
    func exchangeEnded() {
        if quiescing {
            closeClient()
            return
        }
        guard !deliveringQueued else { return }
        deliveringQueued = true
        defer { deliveringQueued = false }
        while let next = queued.first, phase != .closed,
            !(requestEnded && (phase == .connecting || phase == .forwarding))
        {
            queued.removeFirst()
            switch next {
            case .part(let part): deliver(part)
            case .parserError(let refusal): parserError(refusal)
            case .inputClosed: inputClosed()
            }
        }
        if phase == .closed { queued.removeAll() }
        releaseHeldRead()
    }

    // MARK: request

    private func startRequest(_ head: HTTPRequestHead) {
        clientDeadline.requestStarted()
        resetExchange()
        startedAt = .now()
        method = head.method
        uri = head.uri
        clientVersion = head.version
        keepAlive = head.isKeepAlive
        hostHeader = head.headers.first(name: "host") ?? ""
        requestID = Self.clientRequestID(head.headers) ?? loop.nextRequestID()

        if let refusal = RequestFraming.check(head) {
            respondLocally(refusal.status, refusal.reason, close: true)
            return
        }
        let upstreamURI: String
        switch RequestTarget.resolve(method: head.method, uri: head.uri, hostHeader: hostHeader) {
        case .forward(let target):
            upstreamURI = target
        case .refuse(let status, let reason):
            respondLocally(status, reason, close: true, allow: status == .methodNotAllowed ? RequestTarget.allowedMethods : nil)
            return
        }
        guard let host = HostName.normalize(hostHeader) else {
            if hostHeader.isEmpty {
                respondLocally(.notFound, "no Host header", close: false)
            } else {
                respondLocally(.badRequest, "invalid Host header", close: true)
            }
            return
        }
        guard let found = loop.table.resolve(host: host) else {
            respondLocally(.notFound, "no app serves host " + host, close: false)
            return
        }
        guard let route = found, let target = route.target else {
            let app = found?.app ?? "?"
            self.route = found
            self.metrics = found.map { loop.metrics(app: $0.app) }
            respondLocally(.serviceUnavailable, "app " + app + " has no ready target", close: false)
            return
        }
        self.route = route
        let metrics = loop.metrics(app: route.app)
        self.metrics = metrics
        if let cap = configuration.maxBodyBytes, let length = RequestFraming.contentLength(head), length > cap {
            respondLocally(.payloadTooLarge, "request body larger than \(cap) bytes", close: true)
            return
        }
        upgradeRequested = head.headers.contains(name: "upgrade") && Self.connectionHasUpgrade(head.headers)
        upstreamRequest = ForwardedHeaders.upstreamRequest(
            head, uri: upstreamURI, clientIP: clientIP, proto: configuration.forwardedProto, requestID: requestID,
            upgrade: upgradeRequested)
        target.enter()
        metrics.inFlight.increment()
        inFlight = true
        if let handler = loop.takeIdle(target) {
            reusedConnection = true
            attach(handler)
        } else {
            connect(to: target)
        }
    }

    private func requestBody(_ body: ByteBuffer) {
        bodyBytes += body.readableBytes
        if let cap = configuration.maxBodyBytes, bodyBytes > cap, phase == .connecting || phase == .forwarding {
            detachUpstream(reuse: false)
            if responseStarted {
                finishExchange()
                closeClient()
            } else {
                respondLocally(.payloadTooLarge, "request body larger than \(cap) bytes", close: true)
            }
            return
        }
        switch phase {
        case .connecting:
            pending.append(.body(body))
        case .forwarding:
            upstream?.context?.write(NIOAny(HTTPClientRequestPart.body(.byteBuffer(body))), promise: nil)
        case .idle, .local, .tunnelling, .closed:
            break
        }
    }

    private func requestEnd(_ received: HTTPHeaders?) {
        requestEnded = true
        let trailers = ForwardedHeaders.trailers(received)
        switch phase {
        case .connecting:
            pending.append(.end(trailers))
        case .forwarding:
            upstream?.context?.writeAndFlush(NIOAny(HTTPClientRequestPart.end(trailers)), promise: nil)
            armResponseDeadline()
        case .local:
            phase = .idle
            clientDeadline.requestFinished()
            exchangeEnded()
        case .idle, .tunnelling, .closed:
            break
        }
    }

    func resetExchange() {
        route = nil
        metrics = nil
        upstream = nil
        upstreamRequest = nil
        reusedConnection = false
        retried = false
        pending.removeAll(keepingCapacity: true)
        requestEnded = false
        responseStarted = false
        upstreamKeepAlive = true
        closeAfterResponse = false
        upgradeRequested = false
        status = 0
        bytesSent = 0
        bodyBytes = 0
        responseDeadline = nil
    }

    /// The client's X-Request-Id when it is a sane token, so ids can be traced end to end.
    private static func clientRequestID(_ headers: HTTPHeaders) -> String? {
        guard let value = headers.first(name: "x-request-id"), !value.isEmpty, value.utf8.count <= 128,
            value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") })
        else { return nil }
        return value
    }

    private static func connectionHasUpgrade(_ headers: HTTPHeaders) -> Bool {
        headers["connection"].contains { value in
            value.split(separator: ",").contains { equalsLowercase(trim($0), "upgrade") }
        }
    }
}

/// What `ProxyHandler` keeps for later while a pipelined request waits its turn.
enum QueuedEvent {
    case part(HTTPServerRequestPart)
    case parserError(HTTPResponseStatus)
    case inputClosed
}
