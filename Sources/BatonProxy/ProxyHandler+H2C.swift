import NIOCore
import NIOHTTP2

extension ProxyHandler {
    /// A stream to the exchange's h2c target on this loop's HTTP/2 connection to it (made when
    /// there is none with room). The stream speaks HTTP/1 parts through
    /// `HTTP2FramePayloadToHTTP1ClientCodec` (and `StreamResponseParts`) to an `UpstreamHandler`, so the exchange runs as
    /// on an HTTP/1.1 connection. A stream on a connection made before counts as pooled: if
    /// the upstream closed that connection under it, the request may be retried once.
    func openStream(_ exchange: Exchange) -> EventLoopFuture<any Channel> {
        let target = exchange.target
        let loopBox = NIOLoopBound(loop, eventLoop: loop.eventLoop)
        let idleTimeout = configuration.upstreamIdleTimeout
        let opened = loop.h2c.openStream(to: target) { stream in
            stream.eventLoop.makeCompletedFuture {
                let pipeline = stream.pipeline.syncOperations
                try pipeline.addHandler(HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: .http))
                try pipeline.addHandler(StreamResponseParts())
                try pipeline.addHandler(UpstreamHandler(target: target, loop: loopBox.value, idleTimeout: idleTimeout, multiplexed: true))
            }
        }
        if opened.established, case .fresh = exchange.connection { exchange.connection = .pooled }
        return opened.stream
    }
}
