import NIOCore

/// Between TLS and the protocol on an HTTPS connection (and under HTTP/2 on a plain one):
/// gathers the small writes made before a flush into one buffer. An HTTP/1.1 response is a
/// head, a body and an end, and an HTTP/2 response a HEADERS frame, DATA frame headers and
/// payloads, written separately; NIOSSL seals each write it is given in a TLS record of its
/// own, so without this a small response costs three or four records (each with its header,
/// tag and encryption call) where one does. Writes of 16 KiB or more (a full record) pass
/// as they are, after what was gathered before them.
///
/// With `defersFlush` (HTTP/2) a flush is also put off to the end of the event loop's current
/// pass: the responses of many streams that complete in one pass (each flushing) go out in
/// one TLS write and one syscall instead of one each.
final class OutboundCoalescer: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// A TLS record holds at most 16 KiB of plaintext.
    static let limit = 16 * 1024

    private let defersFlush: Bool
    private var gathered: ByteBuffer?
    private var promise: EventLoopPromise<Void>?
    /// Promises beyond the first of the writes gathered; rare (most writes pass none).
    private var morePromises: [EventLoopPromise<Void>] = []
    private var flushScheduled = false
    private var context: ChannelHandlerContext?

    init(defersFlush: Bool) {
        self.defersFlush = defersFlush
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        writeGathered(context)
        context.flush()
        self.context = nil
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .byteBuffer(var buffer) = unwrapOutboundIn(data), buffer.readableBytes < Self.limit else {
            writeGathered(context)
            context.write(data, promise: promise)
            return
        }
        if let gathered, gathered.readableBytes + buffer.readableBytes > Self.limit {
            writeGathered(context)
        }
        if gathered == nil {
            gathered = buffer
        } else {
            gathered!.writeBuffer(&buffer)
        }
        if let promise {
            if self.promise == nil { self.promise = promise } else { morePromises.append(promise) }
        }
    }

    func flush(context: ChannelHandlerContext) {
        guard defersFlush else {
            writeGathered(context)
            context.flush()
            return
        }
        guard !flushScheduled else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute { [self] in
            flushScheduled = false
            guard let context = self.context else { return }
            writeGathered(context)
            context.flush()
        }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        // What was written before the close goes first (a GOAWAY, a last response).
        writeGathered(context)
        context.flush()
        context.close(mode: mode, promise: promise)
    }

    private func writeGathered(_ context: ChannelHandlerContext) {
        guard let buffer = gathered else { return }
        gathered = nil
        let first = promise
        promise = nil
        if morePromises.isEmpty {
            context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: first)
            return
        }
        let all = [first].compactMap { $0 } + morePromises
        morePromises.removeAll()
        let written = context.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenComplete { result in
            for promise in all { promise.completeWith(result) }
        }
        context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: written)
    }
}
