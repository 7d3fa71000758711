import NIOCore
import NIOHTTP1

/// Whether a plain connection speaks HTTP/2 with prior knowledge (h2c: gRPC clients over
/// plaintext), from its first bytes, which its `ClientRequestDecoder` shows here once. No request
/// method starts with `PR`, so one byte (two for `PUT`, `POST`, `PATCH`) decides nearly every
/// connection; only a prefix of the preface is held for more bytes, while the header timeout
/// runs. A connection that sends the preface has its HTTP/1.1 handlers replaced by HTTP/2's.
final class PriorKnowledge {
    enum Verdict {
        /// HTTP/1.1: these bytes (with any held before) go on as usual.
        case http1(ByteBuffer)
        /// A prefix of the preface, held for the rest.
        case held
        /// HTTP/2: the connection was switched and the bytes went to its HTTP/2 handler.
        case http2
    }

    private static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private let pipelines: ClientPipelines
    private let loop: LoopContext
    private var held: ByteBuffer?

    init(pipelines: ClientPipelines, loop: LoopContext) {
        self.pipelines = pipelines
        self.loop = loop
    }

    /// Looks at `bytes`, read by the decoder of `context`.
    func look(at bytes: ByteBuffer, context: ChannelHandlerContext) -> Verdict {
        var bytes = bytes
        if var earlier = held {
            earlier.writeBuffer(&bytes)
            bytes = earlier
            held = nil
        }
        let matched = bytes.withUnsafeReadableBytes { raw in
            var count = 0
            while count < min(raw.count, Self.preface.count) && raw[count] == Self.preface[count] { count += 1 }
            return count
        }
        if matched < min(bytes.readableBytes, Self.preface.count) { return .http1(bytes) }
        if matched < Self.preface.count {
            held = bytes
            return .held
        }
        do {
            try switchToHTTP2(context)
        } catch {
            context.close(promise: nil)
            return .http2
        }
        // The preface and what followed it go to the HTTP/2 handler, now next in line; then
        // the decoder leaves too, and its deadlines with it (HTTP/2 has deadlines of its own,
        // per connection and stream).
        context.fireChannelRead(NIOAny(bytes))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        return .http2
    }

    /// Puts HTTP/2's handlers right after the decoder (`context`) and takes out the proxy, which
    /// has seen no request.
    private func switchToHTTP2(_ context: ChannelHandlerContext) throws {
        let pipeline = context.pipeline.syncOperations
        _ = pipeline.removeHandler(context: try pipeline.context(handlerType: ProxyHandler.self))
        try pipelines.http2(context.channel, loop: loop, secure: false, after: context.handler)
    }
}
