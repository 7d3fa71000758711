import NIOCore
import NIOHTTP1

/// First in an HTTP/1.x client connection's pipeline: turns its bytes into request parts with
/// `HTTP1Parser`, in place of NIO's `ByteToMessageHandler(HTTPRequestDecoder)` (the same parts
/// and errors, in the same order, for a fraction of the work), and keeps the connection's
/// deadlines (`ClientDeadline`) as its bytes come: it closes a connection that is too slow to
/// send a head or idle too long, and tells the proxy (`ClientDeadline.BodyTimedOut`) when a body
/// comes too slowly. One handler for both, because every read passes both: a handler and its
/// pipeline context cost an idle connection about a quarter KiB, and each read a pipeline hop.
///
/// The deadline is a place on the event loop's `DeadlineWheel`, moved lazily: only to an
/// earlier time, so the request path mostly moves nothing.
///
/// Bytes after an upgrade request (or `CONNECT`) are dropped, as NIO's `.dropBytes` does: the
/// connection becomes a tunnel only once the upstream agrees, and then only bytes read after
/// that go through it. After a refused message nothing more is parsed; the proxy answers and
/// closes.
final class ClientRequestDecoder: DeadlineWheelMember, ChannelInboundHandler, RemovableChannelHandler, RequestClock {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = RequestPart

    private let parser: HTTP1Parser
    private var deadline: ClientDeadline
    private let wheel: DeadlineWheel
    private var context: ChannelHandlerContext?
    /// The handler after this one, called directly: a part fired through the pipeline is
    /// boxed in `NIOAny` (an allocation for a head) and unboxed with a dynamic cast.
    var receiver: ProxyHandler?
    /// On a plain connection until its first bytes have been seen: whether they are HTTP/2's
    /// preface (h2c with prior knowledge). Looking here, in the handler every read passes
    /// anyway, costs an HTTP/1.1 connection one byte compare and no handler of its own.
    var priorKnowledge: PriorKnowledge?
    /// Reads since the last response ended: more than one may have left NIO keeping extra
    /// receive buffers (`trimReceiveBuffers`).
    private var readsSinceIdle = 0
    /// When the receive buffers are trimmed if no request comes first.
    private var trimDue: NIODeadline?

    init(limits: HTTP1Parser.Limits, configuration: ProxyConfiguration, wheel: DeadlineWheel) {
        parser = HTTP1Parser(.request, limits: limits)
        deadline = ClientDeadline(configuration: configuration)
        self.wheel = wheel
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { arm(deadline.connectionStarted()) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        wheel.clear(self)
        receiver = nil
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(deadline.connectionStarted())
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if let priorKnowledge {
            switch priorKnowledge.look(at: bytes, context: context) {
            case .http1(let all):
                self.priorKnowledge = nil
                bytes = all
            case .held, .http2:
                return
            }
        }
        if let due = deadline.read(bytes.readableBytes) { arm(due) }
        readsSinceIdle &+= 1
        trimDue = nil
        _ = parser.read(bytes, deliver: { pass($0, context) }, failed: { context.fireErrorCaught(Self.explain($0, by: bytes)) })
    }

    /// llhttp reports a transfer coding it does not know only as `HTTPParserError.unknown`;
    /// RFC 9112 answers that with 501, not 400. Told from the bytes of the read that failed
    /// (`Transfer-Encoding` there, `Content-Length` not), while they are at hand.
    private static func explain(_ error: any Error, by bytes: ByteBuffer) -> any Error {
        guard let parserError = error as? HTTPParserError, parserError == .unknown,
            mentions(bytes, "transfer-encoding"), !mentions(bytes, "content-length")
        else { return error }
        return UnsupportedTransferCoding(parserError: parserError)
    }

    /// Whether `name` occurs in `bytes`, in any ASCII case.
    private static func mentions(_ bytes: ByteBuffer, _ name: String) -> Bool {
        let needle = name.utf8
        return bytes.withUnsafeReadableBytes { haystack in
            guard haystack.count >= needle.count else { return false }
            return (0...(haystack.count - needle.count)).contains { start in
                equalsIgnoringCase(haystack[start..<(start + needle.count)], needle)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        wheel.clear(self)
        parser.endOfInput(deliver: { pass($0, context) }, failed: { context.fireErrorCaught($0) })
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            parser.endOfInput(deliver: { pass($0, context) }, failed: { context.fireErrorCaught($0) })
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func pass(_ part: HTTP1Parser.Part, _ context: ChannelHandlerContext) {
        let request: RequestPart
        switch part {
        case .requestHead(let head): request = .head(head)
        case .body(let bytes): request = .body(bytes)
        case .end(let trailers): request = .end(trailers)
        case .responseHead: preconditionFailure("a response head from a request parser")
        }
        if let receiver, receiver.context != nil {
            receiver.received(request)
        } else {
            context.fireChannelRead(wrapInboundOut(request))
        }
    }

    // MARK: deadlines (RequestClock: what the proxy tells them)

    func requestStarted(at time: NIODeadline) {
        arm(deadline.requestStarted(at: time))
    }

    func requestRead() {
        deadline.requestRead()
    }

    func restartBodyClock() {
        if let due = deadline.restartBodyClock() { arm(due) }
    }

    func requestFinished() {
        arm(deadline.requestFinished())
        parser.releaseIdleStorage()
        if readsSinceIdle > 1 {
            let due = NIODeadline.now() + Self.trimAfter
            trimDue = due
            arm(due)
        }
        readsSinceIdle = 0
    }

    /// How long a connection is idle before its extra receive buffers go: a client sending
    /// request after request (an upload loop) reuses them, and trimming between its requests
    /// made it allocate and fault them in again (6–16 % more CPU per 1 MiB upload).
    static let trimAfter = TimeAmount.seconds(1)

    /// NIO's channel keeps up to `maxMessagesPerRead` receive buffers for its whole life: one
    /// more each time a read finds the others still in use, as every read of a request body
    /// is while it waits to be written upstream. After a 1 MiB upload that was eight 64 KiB
    /// buffers (517 KiB per idle connection, measured): a client could pin half a MiB per
    /// connection. Lowering the option drops all but one; it is set back at once, and reads
    /// per wake-up stay as they were (one read per wake-up instead cost uploads 40 % more CPU).
    /// Only once idle (`trimAfter`) after a request that took more than one read, which alone
    /// can have grown them.
    private func trimReceiveBuffers() {
        guard let options = context?.channel.syncOptions else { return }
        try? options.setOption(.maxMessagesPerRead, value: 1)
        try? options.setOption(.maxMessagesPerRead, value: Proxy.clientReadsPerWakeup)
    }

    /// Puts this handler on the wheel by `due` (`deadlineReached` finds a later deadline and
    /// waits again).
    private func arm(_ due: NIODeadline) {
        guard context != nil else { return }
        wheel.setNoLater(self, at: due)
    }

    override func deadlineReached() {
        guard let context else { return }
        if let due = trimDue, NIODeadline.now() >= due {
            trimDue = nil
            trimReceiveBuffers()
        }
        switch deadline.reached() {
        case .none:
            if let trimDue { wheel.set(self, at: trimDue) }
        case .later(let due):
            wheel.set(self, at: min(due, trimDue ?? due))
        case .bodyTimedOut:
            context.fireUserInboundEventTriggered(ClientDeadline.BodyTimedOut())
        case .close:
            context.close(promise: nil)
        }
    }
}

/// A request whose transfer coding the proxy does not implement (501): what llhttp reported
/// as `parserError`.
struct UnsupportedTransferCoding: Error {
    let parserError: HTTPParserError
}
