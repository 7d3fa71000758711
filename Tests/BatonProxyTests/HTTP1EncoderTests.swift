import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import BatonProxy

/// Baton's HTTP/1.1 encoders replace NIO's for speed only: for every kind of message the proxy
/// writes, the bytes on the wire must be exactly NIO's. Each case runs the same requests and
/// responses through NIO's server pipeline and through Baton's, and compares the output.
@Suite struct HTTP1EncoderTests {
    struct ResponseCase: CustomStringConvertible, Sendable {
        let description: String
        let requests: String
        let responses: [[HTTPServerResponsePart]]
    }

    static func head(_ status: HTTPResponseStatus, version: HTTPVersion = .http1_1, _ headers: [(String, String)]) -> HTTPServerResponsePart {
        .head(HTTPResponseHead(version: version, status: status, headers: HTTPHeaders(headers)))
    }

    static func body(_ text: String) -> HTTPServerResponsePart { .body(.byteBuffer(ByteBuffer(string: text))) }

    static let responseCases: [ResponseCase] = [
        ResponseCase(description: "content-length", requests: "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
                     responses: [[head(.ok, [("Content-Length", "5"), ("X-Ä", "välue")]), body("hello"), .end(nil)]]),
        ResponseCase(description: "no length: chunked, with trailers", requests: "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
                     responses: [[head(.ok, [("Content-Type", "text/plain")]), body("abc"), body(""), body(String(repeating: "x", count: 300)),
                                  .end(HTTPHeaders([("Grpc-Status", "0"), ("X-Sum", "1")]))]]),
        ResponseCase(description: "no length on HTTP/1.0: neither", requests: "GET / HTTP/1.0\r\nHost: a\r\n\r\n",
                     responses: [[head(.ok, version: .http1_0, [("Server", "b")]), body("raw"), .end(nil)]]),
        ResponseCase(description: "HEAD keeps framing headers, loses the body", requests: "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n",
                     responses: [[head(.ok, [("Content-Length", "42")]), body("dropped"), .end(nil)]]),
        ResponseCase(description: "HEAD then GET pipelined", requests: "HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
                     responses: [[head(.ok, [("Transfer-Encoding", "chunked")]), .end(nil)],
                                 [head(.ok, []), body("second"), .end(nil)]]),
        ResponseCase(description: "204 and 304 lose length and coding", requests: "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
                     responses: [[head(.noContent, [("Content-Length", "3"), ("Transfer-Encoding", "chunked")]), .end(nil)],
                                 [head(.notModified, [("ETag", "\"x\""), ("Content-Length", "9")]), .end(nil)]]),
        ResponseCase(description: "100 Continue before the final response", requests: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nhi",
                     responses: [[head(.continue, []), head(.created, [("Location", "/x")]), body("made"), .end(nil)]]),
        ResponseCase(description: "a custom status and reason", requests: "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
                     responses: [[head(.custom(code: 599, reasonPhrase: "Odd Thing"), [("Content-Length", "0")]), .end(nil)]]),
        ResponseCase(description: "101 for a WebSocket", requests: "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
                     responses: [[head(.switchingProtocols, [("Upgrade", "websocket"), ("Connection", "Upgrade")])]]),
        ResponseCase(description: "both length and chunked: the length wins", requests: "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
                     responses: [[head(.ok, [("Transfer-Encoding", "chunked"), ("Content-Length", "2")]), body("ok"), .end(nil)]]),
    ]

    @Test(arguments: responseCases)
    func responsesAreByteForByteNIOs(_ testCase: ResponseCase) throws {
        let nio = EmbeddedChannel()
        defer { _ = try? nio.finish() }
        try nio.pipeline.syncOperations.configureHTTPServerPipeline(
            withPipeliningAssistance: false, withServerUpgrade: nil, withErrorHandling: false,
            withOutboundHeaderValidation: false)
        let baton = EmbeddedChannel()
        defer { _ = try? baton.finish() }
        let encoder = ClientResponseEncoder()
        try baton.pipeline.syncOperations.addHandler(
            ClientRequestDecoder(limits: .nioDefaults, configuration: ProxyConfiguration(), wheel: DeadlineWheel(eventLoop: baton.embeddedEventLoop)))
        try baton.pipeline.syncOperations.addHandler(
            WritesThrough { (part: HTTPServerResponsePart, context, promise) in encoder.write(ResponsePart(part), to: context, promise: promise) })

        let expected = try exchange(on: nio, testCase, receiving: HTTPServerRequestPart.self)
        // As the proxy does: the encoder is told each request's method as its head arrives.
        let actual = try exchange(on: baton, testCase, receiving: RequestPart.self) { encoder.requestArrived($0) }
        #expect(actual == expected, "Baton:\n\(actual)\nNIO:\n\(expected)")
        #expect(!actual.isEmpty)
    }

    /// Feeds the requests in, writes each response once its request has arrived, and returns
    /// everything written, as text.
    private func exchange<Head, Body>(
        on channel: EmbeddedChannel, _ testCase: ResponseCase, receiving: HTTPPart<Head, Body>.Type,
        headArrived: (HTTPMethod) -> Void = { _ in }
    ) throws -> String {
        try channel.writeInbound(ByteBuffer(string: testCase.requests))
        var heads = 0
        while let part = try channel.readInbound(as: HTTPPart<Head, Body>.self) {
            if case .head(let head) = part {
                heads += 1
                switch head {
                case let head as HTTPRequestHead: headArrived(head.method)
                case let head as RequestHead: headArrived(head.method)
                default: Issue.record("a head of \(Head.self)")
                }
            }
        }
        #expect(heads == testCase.responses.count)
        for response in testCase.responses {
            for part in response {
                let promise = channel.eventLoop.makePromise(of: Void.self)
                channel.write(part, promise: promise)
                promise.futureResult.whenFailure { _ in }
            }
        }
        channel.flush()
        var written = ""
        while let data = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let buffer) = data else { Issue.record("a file region was written"); continue }
            written += String(buffer: buffer)
        }
        return written
    }

    struct RequestCase: CustomStringConvertible, Sendable {
        let description: String
        let parts: [HTTPClientRequestPart]
    }

    static func request(_ method: HTTPMethod, _ uri: String, version: HTTPVersion = .http1_1, _ headers: [(String, String)]) -> HTTPClientRequestPart {
        .head(HTTPRequestHead(version: version, method: method, uri: uri, headers: HTTPHeaders(headers)))
    }

    static let requestCases: [RequestCase] = [
        RequestCase(description: "GET", parts: [request(.GET, "/a?b=c", [("Host", "x"), ("X-Forwarded-For", "127.0.0.1")]), .end(nil)]),
        RequestCase(description: "POST with a length", parts: [request(.POST, "/", [("Content-Length", "4")]), .body(.byteBuffer(ByteBuffer(string: "data"))), .end(nil)]),
        RequestCase(description: "POST without a length: chunked", parts: [request(.POST, "/up", [("Host", "x")]), .body(.byteBuffer(ByteBuffer(string: "12345"))),
                                                                           .end(HTTPHeaders([("X-Checksum", "abc")]))]),
        RequestCase(description: "TRACE loses a body's framing", parts: [request(.TRACE, "/", [("Content-Length", "3")]), .end(nil)]),
        RequestCase(description: "GET announcing chunked", parts: [request(.GET, "/", [("Transfer-Encoding", "chunked")]), .body(.byteBuffer(ByteBuffer(string: "zz"))), .end(nil)]),
        RequestCase(description: "an extension method on HTTP/1.0", parts: [request(.RAW(value: "PURGE"), "*", version: .http1_0, []), .end(nil)]),
    ]

    @Test(arguments: requestCases)
    func requestsAreByteForByteNIOs(_ testCase: RequestCase) throws {
        let baton = UpstreamRequestEncoder(responses: UpstreamResponseDecoder())
        let batonWrites = WritesThrough { (part: HTTPClientRequestPart, context, promise) in
            _ = baton.write(UpstreamRequestPart(part), to: context, promise: promise)
        }
        #expect(try written(by: HTTPRequestEncoder(), testCase.parts) == written(by: batonWrites, testCase.parts))
    }

    /// The response decoder learns each request's method from the encoder, not by watching
    /// writes: a response to HEAD announces a length but carries no body, and the next
    /// response follows at once. Without the encoder's word the decoder would refuse the
    /// first response as unsolicited (or read the second as the first one's body).
    @Test func theUpstreamDecoderPairsResponsesWithTheMethodsTheEncoderWrote() throws {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        let responses = UpstreamResponseDecoder()
        let encoder = UpstreamRequestEncoder(responses: responses)
        try channel.pipeline.syncOperations.addHandler(
            WritesThrough { (part: HTTPClientRequestPart, context, promise) in encoder.write(UpstreamRequestPart(part), to: context, promise: promise) })
        try channel.pipeline.syncOperations.addHandler(responses)
        for method in [HTTPMethod.HEAD, .GET] {
            try channel.writeOutbound(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: method, uri: "/")))
            try channel.writeOutbound(HTTPClientRequestPart.end(nil))
        }
        try channel.writeInbound(ByteBuffer(string:
            "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
        var seen: [String] = []
        while let part = try channel.readInbound(as: UpstreamResponsePart.self) {
            switch part {
            case .head(let head): seen.append("head \(head.status.code)")
            case .body(let body): seen.append("body " + String(buffer: body))
            case .end: seen.append("end")
            }
        }
        #expect(seen == ["head 200", "end", "head 200", "body ok", "end"])
    }

    private func written(by encoder: some ChannelHandler, _ parts: [HTTPClientRequestPart]) throws -> String {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        try channel.pipeline.syncOperations.addHandler(encoder)
        for part in parts { channel.write(part, promise: nil) }
        channel.flush()
        var written = ""
        while let data = try channel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let buffer) = data { written += String(buffer: buffer) }
        }
        #expect(!written.isEmpty)
        return written
    }

    @Test func aHeadSerializedInOnePieceMatchesItsSizeExactly() {
        var buffer = ByteBuffer()
        let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: HTTPHeaders([("A", "1"), ("Bé", "ü")]))
        HeadSerializer.write(ResponseHead(head), into: &buffer)
        #expect(String(buffer: buffer) == "HTTP/1.1 200 OK\r\nA: 1\r\nBé: ü\r\n\r\n")
    }
}

/// Puts one of Baton's encoders, which are no channel handlers (the proxy's handlers call them),
/// into a test pipeline: each part written goes through `write`, as the proxy passes it.
final class WritesThrough<Part>: ChannelOutboundHandler {
    typealias OutboundIn = Part
    typealias OutboundOut = IOData
    private let write: (Part, ChannelHandlerContext, EventLoopPromise<Void>?) -> Void

    init(_ write: @escaping (Part, _ to: ChannelHandlerContext, _ promise: EventLoopPromise<Void>?) -> Void) {
        self.write = write
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        write(unwrapOutboundIn(data), context, promise)
    }
}

extension HTTPPart where HeadT == ResponseHead, BodyT == IOData {
    /// NIO's response part as the proxy's, for comparing Baton's encoder with NIO's.
    init(_ part: HTTPServerResponsePart) {
        switch part {
        case .head(let head): self = .head(ResponseHead(head))
        case .body(let body): self = .body(body)
        case .end(let trailers): self = .end(trailers)
        }
    }
}

extension HTTPPart where HeadT == RequestHead, BodyT == IOData {
    /// NIO's request part as the proxy's, for comparing Baton's encoder with NIO's.
    init(_ part: HTTPClientRequestPart) {
        switch part {
        case .head(let head): self = .head(RequestHead(head))
        case .body(let body): self = .body(body)
        case .end(let trailers): self = .end(trailers)
        }
    }
}
