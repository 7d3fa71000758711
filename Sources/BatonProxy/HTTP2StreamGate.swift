import NIOCore
import NIOHTTP2

/// Checks an HTTP/2 stream's request head for what the HTTP/1 view of it would hide, before the
/// codec turns it into an `HTTPRequestHead` (which keeps a `host` field and drops `:authority`):
///
/// - `CONNECT` (a tunnel, or RFC 8441's extended CONNECT, which Baton never offers) is answered
///   `405` with `Allow`, as on HTTP/1.1: Baton proxies requests, not tunnels to authorities.
/// - A `host` field naming another host than `:authority` makes the request malformed
///   (RFC 9113 §8.3.1): the stream is reset with PROTOCOL_ERROR, so no two readers of one
///   request can disagree about which app it is for.
///
/// NIOHTTP2 has already refused connection-specific fields (`connection`, `upgrade`,
/// `transfer-encoding`, `te` other than `trailers`), pseudo-fields out of place and values with
/// CR, LF or NUL. Everything after the head passes untouched.
final class HTTP2StreamGate: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private enum State {
        case awaitingHead
        case passing
        /// Answered or reset here: nothing more of the stream is read on.
        case refused
    }

    private var state = State.awaitingHead

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch state {
        case .passing:
            context.fireChannelRead(data)
        case .refused:
            return
        case .awaitingHead:
            guard case .headers(let headers) = unwrapInboundIn(data) else {
                context.fireChannelRead(data)
                return
            }
            switch Self.check(headers) {
            case .pass:
                state = .passing
                context.fireChannelRead(data)
            case .connect:
                state = .refused
                answerMethodNotAllowed(context)
            case .malformed:
                state = .refused
                context.writeAndFlush(wrapOutboundOut(.rstStream(.protocolError))).assumeIsolated().whenComplete { _ in
                    context.close(promise: nil)
                }
            }
        }
    }

    private enum Verdict {
        case pass
        case connect
        case malformed
    }

    private static func check(_ head: HTTP2Frame.FramePayload.Headers) -> Verdict {
        var authority: String?
        var hosts: [String] = []
        for (name, value, _) in head.headers {
            switch name {
            case ":method" where value == "CONNECT": return .connect
            case ":authority": authority = value
            case "host": hosts.append(value)
            default: continue
            }
        }
        if let authority, hosts.contains(where: { !equalsIgnoringCase($0, authority) }) { return .malformed }
        return .pass
    }

    private func answerMethodNotAllowed(_ context: ChannelHandlerContext) {
        let text = "405 Method Not Allowed: CONNECT is not served\n"
        let head = HTTP2Frame.FramePayload.Headers(headers: .init([
            (":status", "405"), ("allow", RequestTarget.allowedMethods), ("content-type", "text/plain; charset=utf-8"),
            ("content-length", String(text.utf8.count)), ("server", "baton"),
        ]))
        context.write(wrapOutboundOut(.headers(head)), promise: nil)
        let body = HTTP2Frame.FramePayload.Data(data: .byteBuffer(context.channel.allocator.buffer(string: text)), endStream: true)
        context.writeAndFlush(wrapOutboundOut(.data(body))).assumeIsolated().whenComplete { _ in
            // The tunnel's request side may still be open: this resets it.
            context.close(promise: nil)
        }
    }
}
