import NIOCore
import Synchronization

/// The client connections a proxy's listeners accepted that are still open, over every
/// listener it ever had: a shutdown waits for the last of them, including those of listeners
/// already closed by `stopAccepting` (which NIOExtras' `ServerQuiescingHelper` cannot do: when
/// its server channel is closed already, its close fails and it reports the shutdown done at
/// once, with the connections still open). Counted on the listener's loop when accepted, before
/// the connection reaches its own loop, so none is missed in between; uncounted on the
/// connection's own loop when it closes, so nothing is ever scheduled on a listener's loop.
final class AcceptedConnections: Sendable {
    private let openNow = Atomic<Int>(0)
    private let everAccepted = Atomic<Bool>(false)
    private let quiescing = Atomic<Bool>(false)

    var open: Int { openNow.load(ordering: .relaxed) }

    /// Whether any connection was ever accepted (and so any loop has client state).
    var any: Bool { everAccepted.load(ordering: .relaxed) }

    /// Shutdown has begun: a connection set up from now on is told to quiesce as it starts.
    var isQuiescing: Bool { quiescing.load(ordering: .acquiring) }

    func beginQuiescing() { quiescing.store(true, ordering: .releasing) }

    /// The first handler of a listening channel.
    func counter() -> some ChannelInboundHandler { Counter(connections: self) }

    private func accepted(_ channel: any Channel) {
        openNow.add(1, ordering: .relaxed)
        everAccepted.store(true, ordering: .relaxed)
        channel.closeFuture.whenComplete { [self] _ in openNow.subtract(1, ordering: .relaxed) }
    }

    private final class Counter: ChannelInboundHandler {
        typealias InboundIn = any Channel
        typealias InboundOut = any Channel
        let connections: AcceptedConnections

        init(connections: AcceptedConnections) { self.connections = connections }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            connections.accepted(unwrapInboundIn(data))
            context.fireChannelRead(data)
        }
    }
}

/// Sent down each client connection when a shutdown's grace period is over: HTTP/1.1 takes no
/// further request and an idle connection closes now.
struct ShutdownGraceEnded {}
