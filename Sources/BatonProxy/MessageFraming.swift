import NIOCore
import NIOHTTP1

/// How a message's body is delimited on the wire, decided from its head the way NIO's own
/// encoders decide it, so that replacing them (see `HeadSerializer`) changes no byte a client or
/// upstream sees.
enum MessageFraming {
    enum Body { case chunked, contentLength, neither }

    /// Whether a message may carry a body: NIO's `HTTPMethod.HasBody`, which is internal to it.
    enum BodyExpectation { case no, yes, unlikely }

    static func expectation(of method: HTTPMethod) -> BodyExpectation {
        switch method {
        case .TRACE: .no
        case .POST, .PUT, .PATCH: .yes
        default: .unlikely
        }
    }

    /// Makes the framing headers agree with `expectation`: a body that must not be there loses
    /// its length and coding; one of unknown length on HTTP/1.1 is chunked.
    static func frame(_ headers: inout HeaderFields, expectation: BodyExpectation, version: HTTPVersion) -> Body {
        let chunkable = version.major == 1 && version.minor >= 1
        // One pass over the bytes answers every question below; a removal is a pass of its own,
        // made only when there is something to remove.
        var hasLength = false
        var firstCoding: FirstCoding?
        headers.forEachField { name, value in
            switch name.count {
            case 14 where equalsLowercase(name, "content-length"): hasLength = true
            case 17 where equalsLowercase(name, "transfer-encoding"):
                if firstCoding == nil { firstCoding = value.elementsEqual("chunked".utf8) ? .chunked : .other }
            default: break
            }
        }
        switch expectation {
        case .no:
            if hasLength { headers.remove(name: "content-length") }
            if firstCoding != nil { headers.remove(name: "transfer-encoding") }
            return .neither
        case .yes:
            if hasLength {
                if firstCoding != nil { headers.remove(name: "transfer-encoding") }
                return .contentLength
            }
            guard chunkable else { return .neither }
            headers.replaceOrAdd(name: "transfer-encoding", value: "chunked")
            return .chunked
        case .unlikely:
            if hasLength {
                if firstCoding != nil { headers.remove(name: "transfer-encoding") }
                return .contentLength
            }
            return chunkable && firstCoding == .chunked ? .chunked : .neither
        }
    }

    /// The first Transfer-Encoding value: exactly `chunked` (as NIO's encoders compare it), or not.
    private enum FirstCoding { case chunked, other }

    /// One body part: as is, or as a chunk (size line, bytes, CRLF). Empty parts are never
    /// framed, since an empty chunk would end the body. The promise goes with the last write:
    /// writes complete in order, and a failed one fails every write after it.
    static func writeBody(_ part: IOData, chunked: Bool, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        let size = part.readableBytes
        guard chunked, size > 0 else {
            context.write(NIOAny(part), promise: promise)
            return
        }
        var line = context.channel.allocator.buffer(capacity: 18)
        line.writeString(String(size, radix: 16))
        line.writeStaticString("\r\n")
        context.write(NIOAny(IOData.byteBuffer(line)), promise: nil)
        context.write(NIOAny(part), promise: nil)
        context.write(NIOAny(IOData.byteBuffer(crlf)), promise: promise)
    }

    /// The end of a body: the last chunk and trailers when chunked; otherwise nothing, but an
    /// empty write when a promise waits, so it completes in order with the writes before it.
    static func writeEnd(trailers: HTTPHeaders?, chunked: Bool, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        if chunked {
            var buffer = context.channel.allocator.buffer(capacity: 8)
            HeadSerializer.writeLastChunk(trailers: trailers, into: &buffer)
            context.write(NIOAny(IOData.byteBuffer(buffer)), promise: promise)
        } else if let promise {
            context.write(NIOAny(IOData.byteBuffer(ByteBuffer())), promise: promise)
        }
    }

    private static let crlf = ByteBuffer(staticString: "\r\n")
}
