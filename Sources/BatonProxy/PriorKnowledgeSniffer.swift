import NIOCore

/// Looks once at the first bytes of a plain connection. A client that starts with HTTP/2's
/// connection preface (`PRI * HTTP/2.0…`, h2c with prior knowledge: gRPC clients over plaintext)
/// gets the HTTP/2 handlers; anything else gets HTTP/1.1's. Either way this handler then leaves
/// the pipeline, so a connection pays for it on its first read only. No request method starts
/// with `PR`, so one byte (two for `PUT`, `POST`, `PATCH`) decides nearly every connection; only
/// a prefix of the preface is held for more bytes (the header timeout runs meanwhile).
///
/// The protocol's handlers are added only once it is known: nothing has to be taken out, and
/// a decoder (whose removal completes a loop tick later) never sees the other protocol's bytes.
final class PriorKnowledgeSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private let pipelines: ClientPipelines
    private let loop: LoopContext
    private let deadline: ClientDeadline
    /// A prefix of the preface, waiting for the rest.
    private var held: ByteBuffer?

    init(pipelines: ClientPipelines, loop: LoopContext, deadline: ClientDeadline) {
        self.pipelines = pipelines
        self.loop = loop
        self.deadline = deadline
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if var earlier = held {
            earlier.writeBuffer(&bytes)
            bytes = earlier
            held = nil
        }
        let kind = Self.classify(bytes)
        if case .undecided = kind {
            held = bytes
            return
        }
        do {
            let pipeline = context.pipeline.syncOperations
            if case .http2 = kind {
                // HTTP/2 has deadlines of its own, per connection and per stream.
                _ = pipeline.removeHandler(deadline)
                try pipelines.http2(context.channel, loop: loop, secure: false)
            } else {
                try pipelines.http1Protocol(context.channel, loop: loop, deadline: deadline, secure: false)
            }
        } catch {
            context.close(promise: nil)
            return
        }
        // The bytes go to the protocol's first handler, now next in line.
        context.fireChannelRead(wrapInboundOut(bytes))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The client stopped sending, or the proxy is shutting down, before a request began.
        if case ChannelEvent.inputClosed = event {
            context.close(promise: nil)
            return
        }
        if event is ChannelShouldQuiesceEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private enum Kind {
        case http1
        case http2
        case undecided
    }

    private static func classify(_ bytes: ByteBuffer) -> Kind {
        bytes.withUnsafeReadableBytes { raw in
            let count = min(raw.count, preface.count)
            for index in 0..<count where raw[index] != preface[index] {
                return .http1
            }
            return count == preface.count ? .http2 : .undecided
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        held = nil
    }
}
