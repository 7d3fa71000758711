import NIOCore
import NIOHTTP1
import NIOHTTP2

/// How each kind of client connection is set up, for both listeners. Every request, whatever
/// carried it (plain HTTP/1.1, HTTP/1.1 over TLS, an HTTP/2 stream over TLS or h2c), ends in a
/// `ProxyHandler` on its connection's event loop, sharing that loop's upstream pools, so routing,
/// limits, holds, drains, the access log and metrics are the same for all of them.
struct ClientPipelines: Sendable {
    let shared: ProxyShared
    let loops: [ObjectIdentifier: NIOLoopBoundBox<LoopContext?>]

    /// The state of `channel`'s event loop, made on first use.
    func loop(for channel: any Channel) -> LoopContext {
        let box = loops[ObjectIdentifier(channel.eventLoop)]!
        if let existing = box.value { return existing }
        let loop = LoopContext(eventLoop: channel.eventLoop, shared: shared)
        box.value = loop
        return loop
    }

    /// A connection to the plain listener: HTTP/1.1, unless its first bytes are HTTP/2's
    /// preface (h2c with prior knowledge), which its `ClientRequestDecoder` looks for once.
    func plain(_ channel: any Channel) throws {
        let loop = loop(for: channel)
        let decoder = try http1(channel, loop: loop, secure: false)
        decoder.priorKnowledge = PriorKnowledge(pipelines: self, loop: loop)
        loop.accepted(channel)
    }

    /// A connection's HTTP/1.1 handlers: framing and deadlines (`ClientRequestDecoder`), then
    /// the proxy, which encodes its responses itself (see `ClientResponseEncoder`); over TLS
    /// the writes of each response are gathered into one record first. Returns the decoder.
    @discardableResult
    func http1(_ channel: any Channel, loop: LoopContext, secure: Bool) throws -> ClientRequestDecoder {
        let configuration = shared.configuration
        let limits = HTTP1Parser.Limits(fieldBytes: configuration.maxHeaderBytes, headBytes: configuration.maxHeaderBytes)
        let pipeline = channel.pipeline.syncOperations
        let decoder = ClientRequestDecoder(limits: limits, configuration: configuration, wheel: loop.deadlines)
        let proxy = ProxyHandler(
            loop: loop, clientDeadline: decoder, connection: ClientConnection(secure: secure, http2: false),
            responseEncoder: ClientResponseEncoder())
        decoder.receiver = proxy
        if secure { try pipeline.addHandler(OutboundCoalescer(defersFlush: false)) }
        try pipeline.addHandler(decoder)
        try pipeline.addHandler(proxy)
        return decoder
    }

    /// A connection's HTTP/2 handlers: writes gathered per event-loop pass, the protocol, whose
    /// streams each get a `ProxyHandler` behind the HTTP/1 codec, then `HTTP2ConnectionHandler`
    /// for the connection's lifetime.
    /// `after`: the handler they go after (default: at the end).
    func http2(_ channel: any Channel, loop: LoopContext, secure: Bool, after: (any ChannelHandler)? = nil) throws {
        let configuration = shared.configuration
        let lifecycle = HTTP2ConnectionHandler(configuration: configuration, eventLoop: channel.eventLoop)
        var connectionSettings = NIOHTTP2Handler.ConnectionConfiguration()
        connectionSettings.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: Self.maxConcurrentStreams),
            HTTP2Setting(parameter: .maxHeaderListSize, value: configuration.maxHeaderBytes),
        ]
        let streamLoop = NIOLoopBound(loop, eventLoop: channel.eventLoop)
        let connection = ClientConnection(secure: secure, http2: true)
        let http2 = NIOHTTP2Handler(
            mode: .server, eventLoop: channel.eventLoop, connectionConfiguration: connectionSettings,
            streamConfiguration: .init(), streamDelegate: lifecycle.streamDelegate
        ) { stream in
            // Streams live on their connection's event loop.
            stream.eventLoop.makeCompletedFuture {
                try Self.stream(stream, loop: streamLoop.value, connection: connection)
            }
        }
        let coalescer = OutboundCoalescer(defersFlush: true)
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(coalescer, position: after.map { .after($0) } ?? .last)
        try pipeline.addHandler(http2, position: .after(coalescer))
        try pipeline.addHandler(lifecycle, position: .after(http2))
        // Turned HTTP/2 (prior knowledge) after a shutdown began: the GOAWAY goes out at once.
        if shared.connections.isQuiescing {
            channel.eventLoop.assumeIsolated().execute {
                channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
            }
        }
    }

    /// Streams a client may have open at once on one connection (SETTINGS_MAX_CONCURRENT_STREAMS).
    static let maxConcurrentStreams = 100

    /// One HTTP/2 stream, one request: its deadlines (a body must keep up as on HTTP/1.1), the
    /// checks HTTP/1.1 framing cannot express, the HTTP/1 view of its frames (as NIO's types,
    /// then the proxy's), the proxy.
    private static func stream(_ stream: any Channel, loop: LoopContext, connection: ClientConnection) throws {
        let deadline = StreamDeadline(configuration: loop.shared.configuration)
        let pipeline = stream.pipeline.syncOperations
        try pipeline.addHandler(deadline)
        try pipeline.addHandler(HTTP2StreamGate())
        try pipeline.addHandler(TrailersOnlyResponse())
        try pipeline.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
        try pipeline.addHandler(StreamRequestParts())
        try pipeline.addHandler(ProxyHandler(loop: loop, clientDeadline: deadline, connection: connection))
    }
}
