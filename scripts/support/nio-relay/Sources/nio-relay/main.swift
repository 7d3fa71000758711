import NIOCore
import NIOPosix

// usage: nio-relay LISTEN_PORT UPSTREAM_PORT (both on 127.0.0.1)
// Each client connection gets its own upstream connection on the same event loop; bytes go
// across as they are read and are flushed once per read burst. No HTTP is parsed: what is
// counted is two reads, two writes and two flushes through NIO per request.

// Unchecked: a relay and its peer channel are touched only from their one event loop.
final class Relay: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    var peer: (any Channel)?
    private var early: [ByteBuffer] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if let peer { peer.write(buffer, promise: nil) } else { early.append(buffer) }
    }

    func channelReadComplete(context: ChannelHandlerContext) { peer?.flush() }

    func channelInactive(context: ChannelHandlerContext) { peer?.close(promise: nil) }

    func connected(to upstream: any Channel) {
        peer = upstream
        for buffer in early { upstream.write(buffer, promise: nil) }
        early = []
        upstream.flush()
    }
}

guard CommandLine.arguments.count == 3, let listenPort = Int(CommandLine.arguments[1]),
    let upstreamPort = Int(CommandLine.arguments[2])
else {
    print("usage: nio-relay LISTEN_PORT UPSTREAM_PORT")
    exit(2)
}
let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
let server = try ServerBootstrap(group: group)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { client in
        let relay = Relay()
        return client.pipeline.addHandler(relay).flatMap {
            ClientBootstrap(group: client.eventLoop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { upstream in
                    let back = Relay()
                    back.peer = client
                    return upstream.pipeline.addHandler(back)
                }
                .connect(host: "127.0.0.1", port: upstreamPort)
                .map { relay.connected(to: $0) }
        }
    }
    .bind(host: "127.0.0.1", port: listenPort).wait()
try server.closeFuture.wait()
