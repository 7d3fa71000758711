import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import BatonProxy

/// Baton's HTTP/1 decoders (`ClientRequestDecoder`, `UpstreamResponseDecoder`) against NIO's
/// (`HTTPRequestDecoder`, `HTTPResponseDecoder`, as the proxy configured them before), over
/// well-formed and hostile messages, each fed whole, split at every byte, and one byte at a
/// time. Both run llhttp; these tests hold Baton's driver of it to the same heads, bodies,
/// trailers, ends and errors, so that nothing NIO's decoder refused is forwarded now.
@Suite struct HTTP1ParserTests {
    struct Case: CustomStringConvertible, Sendable {
        let description: String
        let bytes: [UInt8]
        /// Responses: the methods of the requests sent, in order.
        var methods: [HTTPMethod] = []
        /// The input ends after the bytes (the peer closed).
        var endsInput = false

        init(_ description: String, _ text: String, methods: [HTTPMethod] = [.GET], endsInput: Bool = false) {
            self.description = description
            self.bytes = Array(text.utf8)
            self.methods = methods
            self.endsInput = endsInput
        }

        init(_ description: String, bytes: [UInt8], endsInput: Bool = false) {
            self.description = description
            self.bytes = bytes
            self.endsInput = endsInput
        }
    }

    /// Small limits, so that overflowing them takes a few bytes.
    static let limits = HTTP1Parser.Limits(fieldBytes: 600, headBytes: 1000)

    /// A client connection's decoder, as the proxy makes it (its deadlines are never armed here:
    /// these channels are never active).
    static func requestDecoder() -> ClientRequestDecoder {
        ClientRequestDecoder(limits: limits, configuration: ProxyConfiguration(), wheel: DeadlineWheel(eventLoop: EmbeddedEventLoop()))
    }

    static let requests: [Case] = [
        Case("a GET", "GET /a?b=c HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\n"),
        Case("pipelined GETs", "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nHEAD /3 HTTP/1.1\r\nHost: x\r\n\r\n"),
        Case("a POST with a length", "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world"),
        Case("chunks with extensions and trailers",
             "POST /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: abc\r\nX-Other: o\r\n\r\n"),
        Case("chunks without trailers, then a GET",
             "POST /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        Case("HTTP/1.0 without Host", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
        Case("empty values, tabs, repeats", "GET / HTTP/1.1\r\nHost: x\r\nX-Empty:\r\nX-Tab:\tv\t\r\nA: 1\r\nA: 2\r\nX-Empty2: \r\n\r\n"),
        Case("UTF-8 in a value", "GET /é HTTP/1.1\r\nHost: x\r\nX-Name: Zoë ✓\r\n\r\n"),
        Case("an upgrade and the bytes after it",
             "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\u{1}\u{2}frame GET / HTTP/1.1\r\n\r\n"),
        Case("CONNECT", "CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\nTLS bytes"),
        Case("absolute form and asterisk", "GET http://x/a HTTP/1.1\r\nHost: x\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"),
        Case("extension methods", "PURGE /a HTTP/1.1\r\nHost: x\r\n\r\nPROPFIND /b HTTP/1.1\r\nHost: x\r\n\r\nM-SEARCH * HTTP/1.1\r\nHost: x\r\n\r\nSOURCE /c HTTP/1.1\r\nHost: x\r\n\r\n"),
        Case("many headers", "GET / HTTP/1.1\r\n" + (0..<40).map { "X-H\($0): v\($0)\r\n" }.joined() + "\r\n"),
        Case("a header at the field limit", "GET / HTTP/1.1\r\nX: " + String(repeating: "v", count: 600) + "\r\n\r\n"),
        // Hostile: each must be refused exactly where NIO's decoder refused it.
        Case("Content-Length and Transfer-Encoding", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        Case("two Content-Lengths", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"),
        Case("a list in Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\nab"),
        Case("a coding other than chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nab"),
        Case("chunked twice", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"),
        Case("a bad chunk size", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n"),
        Case("a chunk longer than its size", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n"),
        Case("obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n"),
        Case("bare LF", "GET / HTTP/1.1\nHost: x\n\n"),
        Case("bare CR", "GET / HTTP/1.1\rHost: x\r\r"),
        Case("NUL in a value", "GET / HTTP/1.1\r\nHost: x\r\nX: a\u{0}b\r\n\r\n"),
        Case("space before the colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n"),
        Case("an empty name", "GET / HTTP/1.1\r\n: x\r\n\r\n"),
        Case("a bad method", "G@T / HTTP/1.1\r\nHost: x\r\n\r\n"),
        Case("HTTP/2.0 on an HTTP/1 connection", "GET / HTTP/2.0\r\nHost: x\r\n\r\n"),
        Case("HTTP/1.2", "GET / HTTP/1.2\r\nHost: x\r\n\r\n"),
        Case("HTTP/0.9", "GET /\r\n\r\n"),
        Case("a space in the target", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n"),
        Case("a field over the limit", "GET / HTTP/1.1\r\nX: " + String(repeating: "v", count: 601) + "\r\n\r\n"),
        Case("a target over the limit", "GET /" + String(repeating: "a", count: 700) + " HTTP/1.1\r\n\r\n"),
        Case("headers over the limit", "GET / HTTP/1.1\r\n" + (0..<60).map { "X-Header-\($0): value-\($0)\r\n" }.joined() + "\r\n"),
        Case("trailers over the limit", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + (0..<60).map { "X-T-\($0): value-\($0)\r\n" }.joined() + "\r\n"),
        Case("a body cut short", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc", endsInput: true),
        Case("a head cut short", "GET / HTTP/1.1\r\nHost: x\r\n", endsInput: true),
        Case("a request, then the end", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", endsInput: true),
        Case("smuggling through a second request", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nGET /admin HTTP/1.1\r\nHost: x\r\n\r\n"),
        Case("Transfer-Encoding on HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
        Case("obs-text in a value", bytes: Array("GET / HTTP/1.1\r\nHost: x\r\nX: a".utf8) + [0xE9, 0xFF] + Array("b\r\n\r\n".utf8)),
        Case("a DEL in a name", bytes: Array("GET / HTTP/1.1\r\nX".utf8) + [0x7F] + Array(": a\r\n\r\n".utf8)),
    ]

    static let responses: [Case] = [
        Case("a length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: s\r\n\r\nhello"),
        Case("chunks and trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n4\r\nabcd\r\n0\r\nX-Sum: 1\r\n\r\n"),
        Case("a body delimited by the close", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of this", endsInput: true),
        Case("HEAD, then a GET", "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", methods: [.HEAD, .GET]),
        Case("204 and 304 with lengths", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 3\r\n\r\n", methods: [.GET, .GET]),
        Case("100 Continue, then the response", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx", methods: [.POST]),
        Case("103 Early Hints, then the response", "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        Case("a 101 and the bytes after it", "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n\u{81}\u{2}hi"),
        Case("HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"),
        Case("Connection: close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"),
        Case("an unknown status", "HTTP/1.1 299 Whatever\r\nContent-Length: 0\r\n\r\n"),
        Case("two responses in one read", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nb", methods: [.GET, .GET]),
        Case("a response nobody asked for", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", methods: []),
        Case("one response too many", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        Case("a bad status", "HTTP/1.1 2000 OK\r\n\r\n"),
        Case("not HTTP", "HTTX/1.1 200 OK\r\n\r\n"),
        Case("HTTP/2.0 in a status line", "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"),
        Case("a body cut short", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", endsInput: true),
        Case("chunks cut short", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab", endsInput: true),
        Case("two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
        Case("a length and chunks", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        Case("obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n"),
        Case("headers over 80 KiB", "HTTP/1.1 200 OK\r\nX: " + String(repeating: "v", count: 82 * 1024) + "\r\n\r\n"),
    ]

    enum Feeding: CaseIterable, Sendable { case whole, everySplit, byteByByte }

    @Test(arguments: requests, Feeding.allCases)
    func requestsDecodeAsNIOsDecoderDecodesThem(_ testCase: Case, _ feeding: Feeding) throws {
        for pieces in Self.pieces(testCase.bytes, feeding) {
            var nioLimits = NIOHTTPDecoderLimitConfiguration()
            nioLimits.maxHeaderFieldSize = Self.limits.fieldBytes
            nioLimits.maxHeaderListSize = Self.limits.headBytes
            let expected = try Self.decode(
                pieces, endsInput: testCase.endsInput,
                decoder: ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, limitConfiguration: nioLimits)),
                as: HTTPServerRequestPart.self)
            let actual = try Self.decode(
                pieces, endsInput: testCase.endsInput, decoder: Self.requestDecoder(),
                as: RequestPart.self)
            #expect(actual == expected, "pieces \(pieces.map(\.count))")
            #expect(!actual.isEmpty)
        }
    }

    @Test(arguments: responses, Feeding.allCases)
    func responsesDecodeAsNIOsDecoderDecodesThem(_ testCase: Case, _ feeding: Feeding) throws {
        for pieces in Self.pieces(testCase.bytes, feeding) {
            let nio = ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .forwardBytes, informationalResponseStrategy: .forward))
            let expected = try Self.decode(pieces, endsInput: testCase.endsInput, decoder: nio, as: HTTPClientResponsePart.self) { channel in
                // NIO's decoder learns the methods by watching the requests written.
                for method in testCase.methods {
                    try channel.writeOutbound(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: method, uri: "/")))
                }
                while try channel.readOutbound(as: HTTPClientRequestPart.self) != nil {}
            }
            let baton = UpstreamResponseDecoder()
            let actual = try Self.decode(pieces, endsInput: testCase.endsInput, decoder: baton, as: UpstreamResponsePart.self) { _ in
                for method in testCase.methods { baton.requestSent(method) }
            }
            #expect(actual == expected, "pieces \(pieces.map(\.count))")
            #expect(!actual.isEmpty)
        }
    }

    /// Whether a response leaves its connection reusable is llhttp's judgement, made when the
    /// head completes, in both decoders (the fields alone do not tell a body that ends with
    /// the connection). The proxy pools a connection only when it is true.
    @Test(arguments: [
        ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true),
        ("HTTP/1.1 200 OK\r\n\r\n", false),
        ("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false),
        ("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false),
        ("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", true),
        ("HTTP/1.1 204 No Content\r\n\r\n", true),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", true),
    ])
    func reuseIsJudgedAsNIOJudgedIt(_ text: String, _ reusable: Bool) throws {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        let decoder = UpstreamResponseDecoder()
        try channel.pipeline.syncOperations.addHandler(decoder)
        decoder.requestSent(.GET)
        try channel.writeInbound(ByteBuffer(string: text))
        guard case .head(let head) = try channel.readInbound(as: UpstreamResponsePart.self) else {
            Issue.record("no head")
            return
        }
        #expect(head.isKeepAlive == reusable)

        let nio = EmbeddedChannel()
        defer { _ = try? nio.finish() }
        try nio.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPResponseDecoder()))
        try nio.writeOutbound(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")))
        try nio.writeInbound(ByteBuffer(string: text))
        guard case .head(let nioHead) = try nio.readInbound(as: HTTPClientResponsePart.self) else {
            Issue.record("no head from NIO")
            return
        }
        #expect(nioHead.isKeepAlive == reusable)
    }

    /// A head that never ends is refused once its bytes pass the limit, even when they are
    /// whitespace that llhttp skips and no piece counts (NIO's decoder kept buffering those).
    @Test func aHeadOfEndlessWhitespaceIsRefused() throws {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        let errors = ErrorRecorder()
        try channel.pipeline.syncOperations.addHandler(Self.requestDecoder())
        try channel.pipeline.syncOperations.addHandler(errors)
        try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\nX:"))
        for _ in 0..<100 where errors.errors.isEmpty {
            try channel.writeInbound(ByteBuffer(string: String(repeating: " ", count: 1000)))
        }
        #expect(errors.errors.map(\.error) == [String(describing: HTTPParserError.headerOverflow)])
        #expect(try channel.readInbound(as: RequestPart.self) == nil)
    }

    /// A field value that is not UTF-8 (obs-text, which llhttp accepts) reaches the upstream
    /// as the bytes the client sent, not re-encoded; the forwarding fields follow it.
    @Test func fieldBytesAreForwardedAsReceived() throws {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        try channel.pipeline.syncOperations.addHandler(Self.requestDecoder())
        let value: [UInt8] = [0x61, 0xE9, 0xFF, 0x62]
        try channel.writeInbound(ByteBuffer(bytes: Array("GET /p HTTP/1.1\r\nHost: app.test\r\nX-Raw: ".utf8) + value + Array("\r\n\r\n".utf8)))
        guard case .head(let head) = try channel.readInbound(as: RequestPart.self) else {
            Issue.record("no head")
            return
        }
        let client = ForwardedHeaders.Client(ip: "10.0.0.1", proto: "http")
        let upstream = ForwardedHeaders.upstreamRequest(head, uri: "/p", forwarding: { client.forwardingFields(host: $0) }, requestID: "r1", upgrade: false)
        var bytes = ByteBuffer()
        HeadSerializer.write(upstream, into: &bytes)
        let expected = Array("GET /p HTTP/1.1\r\nHost: app.test\r\nX-Raw: ".utf8) + value + Array(("\r\nx-forwarded-for: 10.0.0.1\r\n"
            + "x-forwarded-proto: http\r\nx-forwarded-host: app.test\r\nx-real-ip: 10.0.0.1\r\n"
            + "forwarded: for=10.0.0.1;proto=http;host=app.test\r\nx-request-id: r1\r\n\r\n").utf8)
        #expect(Array(bytes.readableBytesView) == expected)
    }

    // MARK: running a decoder

    /// `bytes` as the reads a decoder gets: whole; in two pieces split at each offset; or one
    /// byte per read.
    static func pieces(_ bytes: [UInt8], _ feeding: Feeding) -> [[[UInt8]]] {
        switch feeding {
        case .whole: return [[bytes]]
        case .everySplit:
            // Every offset of a short message; about 300 spread over a long one.
            let step = max(1, bytes.count / 300)
            return stride(from: 1, to: bytes.count, by: step).map { [Array(bytes[..<$0]), Array(bytes[$0...])] }
        case .byteByByte:
            // A long message in 7-byte reads: one byte per read costs its length in reads.
            let size = bytes.count > 4096 ? 7 : 1
            return [stride(from: 0, to: bytes.count, by: size).map { Array(bytes[$0..<min($0 + size, bytes.count)]) }]
        }
    }

    /// What `decoder` makes of `pieces`, as comparable lines: each head with its fields in
    /// order, the body bytes between them (however they were cut into parts), each end with
    /// its trailers, the first error (what follows an error is never used), and for a 101 the
    /// bytes after it, passed on when the decoder leaves the pipeline.
    static func decode<Part>(
        _ pieces: [[UInt8]], endsInput: Bool, decoder: some RemovableChannelHandler, as: Part.Type,
        prepare: (EmbeddedChannel) throws -> Void = { _ in }
    ) throws -> [String] {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        let errors = ErrorRecorder()
        try channel.pipeline.syncOperations.addHandler(decoder)
        try channel.pipeline.syncOperations.addHandler(errors)
        try prepare(channel)
        var lines: [String] = []
        var body = ""
        for piece in pieces where errors.errors.isEmpty {
            try channel.writeInbound(ByteBuffer(bytes: piece))
        }
        if endsInput && errors.errors.isEmpty { channel.pipeline.fireChannelInactive() }
        // Parts up to the first error, then the error.
        let partsBeforeError = errors.errors.first?.afterParts ?? Int.max
        var taken = 0
        while taken < partsBeforeError, let part = try channel.readInbound(as: Part.self) {
            taken += 1
            if let line = describe(part, body: &body) {
                if !body.isEmpty { lines.append("body " + body) }
                body = ""
                lines.append(line)
            }
        }
        if !body.isEmpty { lines.append("body " + body) }
        if let first = errors.errors.first {
            lines.append("error " + first.error)
        } else if !endsInput {
            // A decoder leaving after an upgrade passes on the bytes that followed.
            // (NIO's decoder leaves a loop tick later: waiting on the future would block.)
            let removed = channel.pipeline.syncOperations.removeHandler(decoder)
            channel.embeddedEventLoop.run()
            try removed.wait()
            while let leftover = try channel.readInbound(as: ByteBuffer.self) {
                lines.append("leftover " + String(buffer: leftover))
            }
        }
        return lines
    }

    /// A line for a head or an end; a body's bytes are added to `body` instead.
    private static func describe<Part>(_ part: Part, body: inout String) -> String? {
        switch part {
        case let request as HTTPServerRequestPart:
            switch request {
            case .head(let head): return "head \(head.method) \(head.uri) \(head.version) \(fields(head.headers))"
            case .body(let bytes): body += String(decoding: bytes.readableBytesView, as: UTF8.self)
            case .end(let trailers): return "end \(trailers.map(fields) ?? "-")"
            }
        case let request as RequestPart:
            switch request {
            case .head(let head): return "head \(head.method) \(head.uri) \(head.version) \(fields(HTTPHeaders(Array(head.headers))))"
            case .body(let bytes): body += String(decoding: bytes.readableBytesView, as: UTF8.self)
            case .end(let trailers): return "end \(trailers.map(fields) ?? "-")"
            }
        case let response as UpstreamResponsePart:
            switch response {
            case .head(let head): return "head \(head.status.code) \(head.version) \(fields(HTTPHeaders(Array(head.headers))))"
            case .body(let bytes): body += String(decoding: bytes.readableBytesView, as: UTF8.self)
            case .end(let trailers): return "end \(trailers.map(fields) ?? "-")"
            }
        case let response as HTTPClientResponsePart:
            switch response {
            case .head(let head): return "head \(head.status.code) \(head.version) \(fields(head.headers))"
            case .body(let bytes): body += String(decoding: bytes.readableBytesView, as: UTF8.self)
            case .end(let trailers): return "end \(trailers.map(fields) ?? "-")"
            }
        default:
            return "unexpected \(part)"
        }
        return nil
    }

    private static func fields(_ headers: HTTPHeaders) -> String {
        headers.map { "\($0.name)=\($0.value)" }.joined(separator: "|")
    }
}

/// Passes every read on, counting them, and keeps the errors that reach it with the number
/// of reads before each.
final class ErrorRecorder: ChannelInboundHandler {
    typealias InboundIn = Never
    private(set) var parts = 0
    private(set) var errors: [(afterParts: Int, error: String)] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        parts += 1
        context.fireChannelRead(data)
    }

    /// The parser's own error is what is compared: the client decoder names llhttp's `unknown`
    /// for a transfer coding it does not know (`UnsupportedTransferCoding`, so the proxy can
    /// answer 501), with the parser's error inside.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let parserError = (error as? UnsupportedTransferCoding)?.parserError ?? error
        errors.append((parts, String(describing: parserError)))
    }
}
