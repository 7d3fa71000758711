import NIOCore
import NIOHTTP1

extension ProxyHandler {
    /// Writes one part of the response: on HTTP/1.1 as the bytes the connection's encoder
    /// makes, on an HTTP/2 stream as it is, for the stream's codec. `flush` flushes after it.
    func send(_ part: ResponsePart, to context: ChannelHandlerContext, flush: Bool = false) {
        write(part, to: context, promise: nil)
        if flush { flushNow(context) }
        unflushed = !flush
    }

    /// `send` and a flush, for a caller that acts once the part has been written.
    func sendAndFlush(_ part: ResponsePart, to context: ChannelHandlerContext) -> EventLoopFuture<Void> {
        let written = context.eventLoop.makePromise(of: Void.self)
        write(part, to: context, promise: written)
        flushNow(context)
        return written.futureResult
    }

    /// Flushes what `send` wrote since the last flush, if anything: a flush with nothing to
    /// write still walks the pipeline to the socket (about 2k instructions).
    func flushIfNeeded() {
        guard unflushed, let context else { return }
        flushNow(context)
    }

    /// Flushes, after a response head the encoder held back for its body.
    private func flushNow(_ context: ChannelHandlerContext) {
        responseEncoder?.writePending(to: context)
        unflushed = false
        context.flush()
    }

    private func write(_ part: ResponsePart, to context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        if let responseEncoder {
            responseEncoder.write(part, to: context, promise: promise)
        } else {
            context.write(wrapOutboundOut(part.nio), promise: promise)
        }
    }
}
