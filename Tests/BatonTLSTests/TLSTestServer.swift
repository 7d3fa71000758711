import BatonProxy
import BatonTestSupport
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// A small TLS server on 127.0.0.1 that picks each connection's context from a
/// `ServerCertificates` by SNI, as the proxy's HTTPS listener does, and answers any request
/// `HTTP/1.0 200 OK`: enough for openssl s_client and curl to check the certificates served,
/// without depending on the listener itself.
final class TLSTestServer: Sendable {
    let group: MultiThreadedEventLoopGroup
    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }

    init(certificates: any ServerCertificates) async throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let answer = FixedAnswer()
                let sni = ByteToMessageHandler(SNIHandler { result in
                    let name: String? = if case .hostname(let host) = result { host.lowercased() } else { nil }
                    return certificates.context(forServerName: name, eventLoop: channel.eventLoop).flatMap { context in
                        guard let context else {
                            // No certificate: the handshake is refused by closing.
                            return channel.close().flatMapError { _ in channel.eventLoop.makeSucceededVoidFuture() }
                        }
                        return channel.pipeline.addHandler(NIOSSLServerHandler(context: context), position: .before(answer))
                    }
                })
                return channel.pipeline.addHandlers([sni, answer])
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

/// Answers the first bytes of a request and closes.
private final class FixedAnswer: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = context.channel.allocator.buffer(string: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
        context.writeAndFlush(wrapOutboundOut(reply)).whenComplete { [context] _ in context.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
