import NIOCore
import NIOHTTP1

/// A request head as the proxy handles it: NIO's `HTTPRequestHead` with its fields as
/// `HeaderFields` (bytes) instead of `HTTPHeaders` (Strings). HTTP/2 streams, whose codecs
/// speak NIO's types, convert at their edge.
///
/// A value type over one immutable box, as NIO's heads are: a head is copied at every step
/// of its way (decoder, parts, exchange), and a copy is then one retain instead of one per
/// String and buffer inside. A change of its fields makes a new box; anything else is
/// changed by making a new head.
struct RequestHead: Equatable {
    private final class Box {
        let method: HTTPMethod
        let uri: String
        let version: HTTPVersion
        let headers: HeaderFields
        let isKeepAlive: Bool

        init(method: HTTPMethod, uri: String, version: HTTPVersion, headers: HeaderFields, isKeepAlive: Bool) {
            self.method = method
            self.uri = uri
            self.version = version
            self.headers = headers
            self.isKeepAlive = isKeepAlive
        }
    }

    private var box: Box

    init(version: HTTPVersion, method: HTTPMethod, uri: String, headers: HeaderFields = HeaderFields(), isKeepAlive: Bool = true) {
        box = Box(method: method, uri: uri, version: version, headers: headers, isKeepAlive: isKeepAlive)
    }

    init(_ head: HTTPRequestHead) {
        self.init(version: head.version, method: head.method, uri: head.uri, headers: HeaderFields(head.headers), isKeepAlive: head.isKeepAlive)
    }

    var method: HTTPMethod { box.method }
    var uri: String { box.uri }
    var version: HTTPVersion { box.version }

    /// The one part a head changes after it is made (the HTTP/2 `TE` field, the verify probe's).
    var headers: HeaderFields {
        get { box.headers }
        set { box = Box(method: method, uri: uri, version: version, headers: newValue, isKeepAlive: isKeepAlive) }
    }

    /// Whether the client may send another request on the connection, as its parser judged
    /// when the head arrived (not updated when `headers` change).
    var isKeepAlive: Bool { box.isKeepAlive }

    var nio: HTTPRequestHead { HTTPRequestHead(version: version, method: method, uri: uri, headers: headers.httpHeaders) }

    static func == (lhs: RequestHead, rhs: RequestHead) -> Bool {
        lhs.method == rhs.method && lhs.uri == rhs.uri && lhs.version == rhs.version && lhs.headers == rhs.headers
    }
}

/// A response head as the proxy handles it (see `RequestHead`).
struct ResponseHead: Equatable {
    private final class Box {
        let status: HTTPResponseStatus
        let version: HTTPVersion
        let headers: HeaderFields
        let isKeepAlive: Bool

        init(status: HTTPResponseStatus, version: HTTPVersion, headers: HeaderFields, isKeepAlive: Bool) {
            self.status = status
            self.version = version
            self.headers = headers
            self.isKeepAlive = isKeepAlive
        }
    }

    private var box: Box

    init(version: HTTPVersion, status: HTTPResponseStatus, headers: HeaderFields = HeaderFields(), isKeepAlive: Bool = true) {
        box = Box(status: status, version: version, headers: headers, isKeepAlive: isKeepAlive)
    }

    init(_ head: HTTPResponseHead) {
        self.init(version: head.version, status: head.status, headers: HeaderFields(head.headers), isKeepAlive: head.isKeepAlive)
    }

    var status: HTTPResponseStatus { box.status }
    var version: HTTPVersion { box.version }

    /// The one part a head changes after it is made (the verify probe's target field).
    var headers: HeaderFields {
        get { box.headers }
        set { box = Box(status: status, version: version, headers: newValue, isKeepAlive: isKeepAlive) }
    }

    /// Whether the connection may carry another exchange after this response, as its parser
    /// judged (false for a body that ends with the connection, which the fields do not say).
    var isKeepAlive: Bool { box.isKeepAlive }

    var nio: HTTPResponseHead { HTTPResponseHead(version: version, status: status, headers: headers.httpHeaders) }

    static func == (lhs: ResponseHead, rhs: ResponseHead) -> Bool {
        lhs.status == rhs.status && lhs.version == rhs.version && lhs.headers == rhs.headers
    }
}

/// A request as read from a client.
typealias RequestPart = HTTPPart<RequestHead, ByteBuffer>
/// A response as sent to a client.
typealias ResponsePart = HTTPPart<ResponseHead, IOData>
/// A request as sent to an upstream.
typealias UpstreamRequestPart = HTTPPart<RequestHead, IOData>
/// A response as read from an upstream.
typealias UpstreamResponsePart = HTTPPart<ResponseHead, ByteBuffer>

extension HTTPPart where HeadT == RequestHead, BodyT == ByteBuffer {
    init(_ part: HTTPServerRequestPart) {
        switch part {
        case .head(let head): self = .head(RequestHead(head))
        case .body(let body): self = .body(body)
        case .end(let trailers): self = .end(trailers)
        }
    }
}

extension HTTPPart where HeadT == ResponseHead, BodyT == ByteBuffer {
    init(_ part: HTTPClientResponsePart) {
        switch part {
        case .head(let head): self = .head(ResponseHead(head))
        case .body(let body): self = .body(body)
        case .end(let trailers): self = .end(trailers)
        }
    }
}

extension HTTPPart where HeadT == ResponseHead, BodyT == IOData {
    var nio: HTTPServerResponsePart {
        switch self {
        case .head(let head): .head(head.nio)
        case .body(let body): .body(body)
        case .end(let trailers): .end(trailers)
        }
    }
}

extension HTTPPart where HeadT == RequestHead, BodyT == IOData {
    var nio: HTTPClientRequestPart {
        switch self {
        case .head(let head): .head(head.nio)
        case .body(let body): .body(body)
        case .end(let trailers): .end(trailers)
        }
    }
}

/// Turns an HTTP/2 stream's request parts (from NIO's HTTP/1 codec for HTTP/2) into the
/// proxy's: the last handler before a stream's `ProxyHandler`.
final class StreamRequestParts: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = RequestPart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(wrapInboundOut(RequestPart(unwrapInboundIn(data))))
    }
}

/// Turns an h2c upstream stream's response parts into the proxy's: the last handler before
/// the stream's `UpstreamHandler`.
final class StreamResponseParts: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias InboundOut = UpstreamResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(wrapInboundOut(UpstreamResponsePart(unwrapInboundIn(data))))
    }
}
