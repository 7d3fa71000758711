import BatonControl
import BatonOS
import Foundation
import Glibc
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The control API's transport: HTTP/1.1 + JSON on a Unix socket of mode 0660. Each accepted
/// client's credentials are checked (SO_PEERCRED): only root and members of the socket's group
/// are served; anyone else is answered 403, logged and disconnected.
final class ControlServer: Sendable {
    let channel: any Channel
    let path: String
    private let connections: ServerConnections

    init(path: String, group: any EventLoopGroup, router: ControlRouter, logger: Logger) async throws {
        self.path = path
        var info = stat()
        if lstat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFSOCK {
            throw BatonError(.conflict, "\(path) exists and is not a socket: remove it or choose --socket")
        }
        if (try? ControlClient(socketPath: path).call("GET", "/v1/health")) != nil {
            throw BatonError(.conflict, "a daemon is already running at \(path): stop it first or choose --root/--socket")
        }
        let socketGroup = AtomicGID()
        let connections = ServerConnections()
        self.connections = connections
        let server = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                guard connections.accept(channel) else { return channel.close() }
                return PeerCredentials.of(channel).flatMapThrowing { peer in
                    let socketGID = socketGroup.load()
                    let allowed = peer.isAllowed(group: socketGID)
                    if !allowed {
                        logger.warning("refused control client pid \(peer.pid) uid \(peer.uid) gid \(peer.gid): not root and not in the socket's group \(socketGID)")
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(ControlHandler(router: router, allowed: allowed, peerIsRoot: peer.uid == 0, connections: connections))
                }
            }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
        do {
            try sys("chmod \(path)") { chmod(path, 0o660) }
            var bound = stat()
            try sys("stat \(path)") { stat(path, &bound) }
            socketGroup.store(bound.st_gid)
        } catch {
            try? await server.close()
            throw BatonError(.setupFailed, "cannot set up control socket \(path): \(error)", cause: error)
        }
        channel = server
    }

    /// Closes the listening socket and removes its path: no new client gets in.
    func stopAccepting() async {
        try? await channel.close()
        unlink(path)
    }

    /// Closes every client connection, and drops the replies of requests still with the
    /// router, so nothing is scheduled on an event loop after this returns.
    func closeConnections() async {
        await connections.closeAll()
    }
}

/// The socket's group, learned after bind and read by each accepted connection.
final class AtomicGID: Sendable {
    private let raw = Atomic<UInt32>(0)
    func load() -> gid_t { raw.load(ordering: .acquiring) }
    func store(_ gid: gid_t) { raw.store(gid, ordering: .releasing) }
}

/// Decodes one request at a time, hands it to the router, encodes the reply.
final class ControlHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        /// Waiting for a request head.
        case idle
        case receiving(HTTPRequestHead, body: Data)
        /// The body passed the limit: answered once, closing; the rest of the request is ignored.
        case refused
        /// The request is with the router; the reply comes back through `connections`.
        case handling
    }

    private let router: ControlRouter
    private let allowed: Bool
    private let peerIsRoot: Bool
    private let connections: ServerConnections
    private var state = State.idle
    static let maxBody = 1 << 20

    init(router: ControlRouter, allowed: Bool, peerIsRoot: Bool, connections: ServerConnections) {
        self.router = router
        self.allowed = allowed
        self.peerIsRoot = peerIsRoot
        self.connections = connections
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .idle):
            state = .receiving(head, body: Data())
        case (.body(let buffer), .receiving(let head, var body)):
            state = .handling  // drops the reference so the append does not copy
            body.append(contentsOf: buffer.readableBytesView)
            guard body.count <= Self.maxBody else {
                state = .refused
                let refusal = BatonError(.invalidArgument, "request body larger than \(Self.maxBody) bytes")
                reply(context: context, ControlRouter.error(refusal), keepAlive: false)
                return
            }
            state = .receiving(head, body: body)
        case (.end, .receiving(let head, let body)):
            state = .handling
            guard allowed else {
                let refusal = ControlErrorBody(error: "permission denied: only root or the socket's group may use the control API", code: "permission")
                reply(context: context, ControlReply(status: 403, body: (try? ControlJSON.encoder().encode(refusal)) ?? Data()), keepAlive: false)
                return
            }
            handle(ControlRequest(method: head.method.rawValue, path: head.uri, body: body, peerIsRoot: peerIsRoot),
                   keepAlive: head.isKeepAlive, context: context)
        case (_, .refused):
            break
        case (.head, _), (.body, _), (.end, _):
            // HTTPServerPipelineHandler holds the next request back until this one is answered,
            // so a part out of order is a bug: answer it once and close rather than guess.
            state = .refused
            reply(context: context, ControlRouter.error(BatonError(.internal, "request parts out of order")), keepAlive: false)
        }
    }

    /// Runs the request on the router, off the event loop; the reply is written on the loop
    /// unless the server has closed its connections meanwhile.
    private func handle(_ request: ControlRequest, keepAlive: Bool, context: ChannelHandlerContext) {
        let loop = context.eventLoop
        let target = NIOLoopBound((handler: self, context: context), eventLoop: loop)
        let router = self.router
        let connections = self.connections
        Task {
            let reply = await router.handle(request)
            connections.execute(on: loop) {
                target.value.handler.reply(context: target.value.context, reply, keepAlive: keepAlive)
            }
        }
    }

    private func reply(context: ChannelHandlerContext, _ reply: ControlReply, keepAlive: Bool) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: reply.contentType)
        headers.add(name: "content-length", value: String(reply.body.count))
        if !keepAlive { headers.add(name: "connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: reply.status)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if !reply.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: reply.body)))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if keepAlive {
            if case .handling = state { state = .idle }
        } else {
            done.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}
