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
        let server = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                PeerCredentials.of(channel).flatMapThrowing { peer in
                    let socketGID = socketGroup.load()
                    let allowed = peer.isAllowed(group: socketGID)
                    if !allowed {
                        logger.warning("refused control client pid \(peer.pid) uid \(peer.uid) gid \(peer.gid): not root and not in the socket's group \(socketGID)")
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(ControlHandler(router: router, allowed: allowed))
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

    func close() async {
        try? await channel.close()
        unlink(path)
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

    private let router: ControlRouter
    private let allowed: Bool
    private var head: HTTPRequestHead?
    private var body = Data()
    private static let maxBody = 1 << 20

    init(router: ControlRouter, allowed: Bool) {
        self.router = router
        self.allowed = allowed
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = Data()
        case .body(let buffer):
            body.append(contentsOf: buffer.readableBytesView)
            if body.count > Self.maxBody {
                reply(context: context, ControlRouter.error(BatonError(.invalidArgument, "request body too large")), keepAlive: false)
            }
        case .end:
            guard let head else { return }
            self.head = nil
            guard allowed else {
                let refusal = ControlErrorBody(error: "permission denied: only root or the socket's group may use the control API", code: "permission")
                reply(context: context, ControlReply(status: 403, body: (try? ControlJSON.encoder().encode(refusal)) ?? Data()), keepAlive: false)
                return
            }
            let request = ControlRequest(method: head.method.rawValue, path: head.uri, body: body)
            let keepAlive = head.isKeepAlive
            let router = self.router
            let promise = context.eventLoop.makePromise(of: ControlReply.self)
            promise.completeWithTask { await router.handle(request) }
            promise.futureResult.assumeIsolated().whenSuccess { [self] reply in
                self.reply(context: context, reply, keepAlive: keepAlive)
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
        if !keepAlive {
            done.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}
