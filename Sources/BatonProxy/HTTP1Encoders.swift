import NIOCore
import NIOHTTP1

/// Encodes the responses of a client's HTTP/1.1 connection. It replaces NIO's
/// `HTTPResponseEncoder` (same framing, same bytes) for the cost of a head: see
/// `HeadSerializer`. It is no channel handler: the connection's `ProxyHandler` owns it and
/// writes the bytes it makes to the socket itself, since a handler between the two would cost
/// every write, flush and read of every request a pipeline hop. A response to `HEAD` or
/// `CONNECT` keeps its framing headers but carries no body, so the encoder is told each
/// request's method as its head arrives (`requestArrived`).
final class ClientResponseEncoder {
    private var chunked = false
    private var suppressesBody = false
    /// Methods of requests not answered yet, oldest first (more than one only when pipelined).
    private var methods = MethodQueue()
    /// A head not written yet: it goes out with the first body part when that is small (one
    /// write instead of two, each a trip through the channel's write path), else before it.
    private var pendingHead: ByteBuffer?
    /// Room left after a head for a small body to join it.
    private static let bodyRoom = 2048

    /// A request head was read: its response is the next one not yet answered.
    func requestArrived(_ method: HTTPMethod) { methods.append(method) }

    /// Writes `part` as bytes through `context` (whose next outbound handler is the socket's).
    func write(_ part: ResponsePart, to context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        switch part {
        case .head(let head):
            let code = head.status.code
            // A 1xx other than 101 is followed by the final response to the same request.
            let interim = (100..<200).contains(code) && code != 101
            var answersConnect = false
            if !interim, let method = methods.popFirst() {
                suppressesBody = method.isHEAD || method.isCONNECT
                answersConnect = method.isCONNECT
            }
            let expectation: MessageFraming.BodyExpectation =
                answersConnect || !head.status.mayHaveResponseBody ? .no : .yes
            // Framed as a copy of the fields: changing the head's own would make a new head.
            var headers = head.headers
            let framing = MessageFraming.frame(&headers, expectation: expectation, version: head.version)
            chunked = !suppressesBody && framing == .chunked
            writePending(to: context)
            // Held back only when a body may follow and nobody waits for this write.
            let holds = promise == nil && !interim && !suppressesBody && expectation == .yes
            let buffer = HeadSerializer.bytes(head, headers: headers, allocator: context.channel.allocator, room: holds ? Self.bodyRoom : 0)
            if holds {
                pendingHead = buffer
            } else {
                context.write(NIOAny(IOData.byteBuffer(buffer)), promise: promise)
            }
        case .body(let part):
            if suppressesBody {
                // As NIO does: the write is refused rather than silently dropped.
                promise?.fail(NIOHTTPResponseEncoderError.responseBodyNotAllowed)
            } else if var head = pendingHead, !chunked, case .byteBuffer(var bytes) = part, bytes.readableBytes <= head.writableBytes {
                pendingHead = nil
                head.writeBuffer(&bytes)
                context.write(NIOAny(IOData.byteBuffer(head)), promise: promise)
            } else {
                writePending(to: context)
                MessageFraming.writeBody(part, chunked: chunked, context: context, promise: promise)
            }
        case .end(let trailers):
            writePending(to: context)
            suppressesBody = false
            MessageFraming.writeEnd(trailers: trailers, chunked: chunked, context: context, promise: promise)
        }
    }

    /// Writes a head held back for its body; the connection's handler calls it before every
    /// flush, so nothing written stays behind.
    func writePending(to context: ChannelHandlerContext) {
        guard let head = pendingHead else { return }
        pendingHead = nil
        context.write(NIOAny(IOData.byteBuffer(head)), promise: nil)
    }
}

/// Encodes the requests Baton sends upstream, in place of NIO's `HTTPRequestEncoder`: same
/// framing and bytes, cheaper heads (`HeadSerializer`). Like `ClientResponseEncoder` it is no
/// channel handler: the connection's `UpstreamHandler` owns it. Each head also goes to the
/// connection's response decoder, which must pair responses with their requests' methods
/// (see `UpstreamResponseDecoder`).
final class UpstreamRequestEncoder {
    private var chunked = false
    private let responses: UpstreamResponseDecoder

    init(responses: UpstreamResponseDecoder) { self.responses = responses }

    /// Writes `part` as bytes through `context` (whose next outbound handler is the socket's);
    /// false when there were none to write (the end of a body that is not chunked).
    @discardableResult
    func write(_ part: UpstreamRequestPart, to context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) -> Bool {
        switch part {
        case .head(let head):
            responses.requestSent(head.method)
            let expectation = MessageFraming.expectation(of: head.method)
            var headers = head.headers
            chunked = MessageFraming.frame(&headers, expectation: expectation, version: head.version) == .chunked
            let buffer = HeadSerializer.bytes(head, headers: headers, allocator: context.channel.allocator)
            context.write(NIOAny(IOData.byteBuffer(buffer)), promise: promise)
            return true
        case .body(let part):
            MessageFraming.writeBody(part, chunked: chunked, context: context, promise: promise)
            return true
        case .end(let trailers):
            MessageFraming.writeEnd(trailers: trailers, chunked: chunked, context: context, promise: promise)
            return chunked || promise != nil
        }
    }
}

/// A FIFO of request methods that allocates nothing while it holds at most one.
struct MethodQueue {
    private var first: HTTPMethod?
    private var rest: [HTTPMethod] = []

    mutating func append(_ method: HTTPMethod) {
        if first == nil && rest.isEmpty { first = method } else { rest.append(method) }
    }

    mutating func popFirst() -> HTTPMethod? {
        guard let head = first else { return nil }
        first = rest.isEmpty ? nil : rest.removeFirst()
        return head
    }
}
