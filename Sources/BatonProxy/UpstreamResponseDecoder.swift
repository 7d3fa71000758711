import NIOCore
import NIOHTTP1

/// NIO's response decoder (llhttp, with its limits and strictness), without the write
/// observation that comes with it.
///
/// The decoder must know which requests were `HEAD` or `CONNECT`, whose responses carry no body
/// whatever their headers say. Handed to `ByteToMessageHandler` as it is, it learns that by
/// sitting in the outbound path and unwrapping every request part written to the connection,
/// in generic code that callgrind put at about 5k instructions per proxied request. Wrapped
/// here it is inbound only, and `UpstreamRequestEncoder` hands it each request head as it
/// encodes it: the same heads, in the same order.
struct UpstreamResponseDecoder: ByteToMessageDecoder {
    typealias InboundOut = HTTPClientResponsePart

    /// A class: the encoder holds the same instance.
    let decoder: HTTPResponseDecoder

    init(_ decoder: HTTPResponseDecoder) { self.decoder = decoder }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        try decoder.decode(context: context, buffer: &buffer)
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decoder.decodeLast(context: context, buffer: &buffer, seenEOF: seenEOF)
    }

    func decoderAdded(context: ChannelHandlerContext) { decoder.decoderAdded(context: context) }

    func decoderRemoved(context: ChannelHandlerContext) { decoder.decoderRemoved(context: context) }
}
