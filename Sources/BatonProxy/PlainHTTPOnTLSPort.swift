import NIOCore

/// First handler of an HTTPS connection. A TLS client starts with a handshake record (0x16); a
/// client that speaks plain HTTP to the HTTPS port starts with a method's capital letter, and is
/// told so in plain text (`400`, as nginx does) instead of meeting a TLS alert it cannot read or
/// a handshake that waits for the header timeout. Anything else is closed. A TLS connection
/// passes its first bytes on and this handler leaves.
final class PlainHTTPOnTLSPort: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let tlsHandshakeRecord: UInt8 = 0x16

    private var refused = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if refused { return }
        let bytes = unwrapInboundIn(data)
        guard let first = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) else { return }
        if first == Self.tlsHandshakeRecord {
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        } else if first >= UInt8(ascii: "A") && first <= UInt8(ascii: "Z") {
            refused = true
            let response = context.channel.allocator.buffer(string: Self.response)
            // Closing only the sending side lets the client read the answer before it sees the
            // close, even when more of its request is still on the way (a full close could reset
            // the connection and lose it); the handshake deadline ends what the client keeps open.
            context.writeAndFlush(wrapOutboundOut(response)).assumeIsolated().whenComplete { _ in
                context.close(mode: .output, promise: nil)
            }
        } else {
            refused = true
            context.close(promise: nil)
        }
    }

    static let response: String = {
        let text = "400 Bad Request: plain HTTP was sent to the HTTPS port; use https:// for this port\n"
        return "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: \(text.utf8.count)\r\n"
            + "Connection: close\r\nServer: baton\r\n\r\n" + text
    }()
}
