import NIOCore
import NIOPosix

/// Makes upstream connections. The proxy calls it on the client's event loop and adds the HTTP
/// handlers itself through `initializer`.
public protocol UpstreamConnector: Sendable {
    func connect(
        to target: Target,
        on eventLoop: any EventLoop,
        timeout: TimeAmount,
        initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) -> EventLoopFuture<any Channel>
}

/// The standard connector: TCP for `.address`; for `.sandbox`, a socket made inside the
/// sandbox's network namespace on a helper thread, then handed to NIO.
public struct DefaultUpstreamConnector: UpstreamConnector {
    private let threadPool: NIOThreadPool

    public init(threadPool: NIOThreadPool = .singleton) {
        self.threadPool = threadPool
    }

    public func connect(
        to target: Target,
        on eventLoop: any EventLoop,
        timeout: TimeAmount,
        initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) -> EventLoopFuture<any Channel> {
        @Sendable func bootstrap() -> ClientBootstrap {
            ClientBootstrap(group: eventLoop)
                .connectTimeout(timeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer(initializer)
        }
        switch target {
        case .address(let host, let port):
            if let address = try? SocketAddress(ipAddress: host, port: port) {
                return bootstrap().connect(to: address)
            }
            return bootstrap().connect(host: host, port: port)
        case .sandbox(let namespace, let port):
            // The closure holds `namespace` until the socket is made: its descriptor stays open.
            let socket = threadPool.runIfActive(eventLoop: eventLoop) {
                try NetnsSocket.connect(in: namespace, port: port)
            }
            return socket.flatMap { fd in
                bootstrap().withConnectedSocket(fd)
            }
        }
    }
}
