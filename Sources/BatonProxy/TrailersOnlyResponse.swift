import NIOCore
import NIOHTTP2

/// Sends a response that is only a head as one HEADERS frame that ends the stream, on an
/// HTTP/2 client's stream. `HTTP2FramePayloadToHTTP1ServerCodec` turns the head and the end
/// into two frames, HEADERS then an empty DATA ending the stream; a gRPC client reads a
/// "trailers-only" response (an error before any message: `grpc-status` in the head) only as
/// the single frame gRPC specifies, and takes the two as a stream that ended without a status.
/// So the head is held until the next write or flush: an empty end right behind it is folded
/// into it. Goes between the codec and the stream (`HTTP2Frame.FramePayload` both sides).
final class TrailersOnlyResponse: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    /// A head not yet written, and its write's promise.
    private var held: (headers: HTTP2Frame.FramePayload.Headers, promise: EventLoopPromise<Void>?)?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let payload = unwrapOutboundIn(data)
        if let (headers, heldPromise) = held {
            held = nil
            if case .data(let end) = payload, end.endStream, end.data.readableBytes == 0 {
                var folded = headers
                folded.endStream = true
                var promise = promise
                promise.setOrCascade(to: heldPromise)
                context.write(wrapOutboundOut(.headers(folded)), promise: promise)
                return
            }
            context.write(wrapOutboundOut(.headers(headers)), promise: heldPromise)
        }
        if case .headers(let headers) = payload, !headers.endStream {
            held = (headers, promise)
            return
        }
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        if let (headers, promise) = held {
            held = nil
            context.write(wrapOutboundOut(.headers(headers)), promise: promise)
        }
        context.flush()
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if let (_, heldPromise) = held {
            held = nil
            heldPromise?.fail(ChannelError.ioOnClosedChannel)
        }
        context.close(mode: mode, promise: promise)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if let (_, heldPromise) = held {
            held = nil
            heldPromise?.fail(ChannelError.ioOnClosedChannel)
        }
    }
}
