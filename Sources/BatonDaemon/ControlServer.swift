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

    /// Serves on `fd`, the listening socket bound at `path` (DaemonListeners), which it owns.
    init(adopting fd: Int32, path: String, group: any EventLoopGroup, router: ControlRouter, logger: Logger) async throws {
        self.path = path
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
            .withBoundSocket(fd).get()
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

    /// Closes this process's listening socket: no new client gets in here. The path is
    /// removed only by the daemon that owns it: after a hand-off the successor accepts on it.
    func stopAccepting(removingPath: Bool) async {
        try? await channel.close()
        if removingPath { unlink(path) }
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

/// Decodes one request at a time, hands it to the router, encodes the reply. A blob upload
/// (`PUT /v1/blobs/DIGEST`) is streamed to the store through `BlobUpload` instead, with reads
/// from the client held back while its pieces wait for the disk.
final class ControlHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        /// Waiting for a request head.
        case idle
        case receiving(HTTPRequestHead, body: Data)
        /// The body passed the limit: answered once, closing; the rest of the request is ignored.
        case refused
        /// The request is with the router; the reply comes back through `connections`.
        case handling
        /// A blob's body is going to the store; `pending` pieces are still being written, and
        /// `readHeld` says a read from the client waits for them.
        case uploading(BlobUpload, pending: Int, readHeld: Bool)
    }

    private let router: ControlRouter
    private let allowed: Bool
    private let peerIsRoot: Bool
    private let connections: ServerConnections
    private var state = State.idle
    static let maxBody = 1 << 20

    /// `cert add` carries a certificate file and a key file of up to 1 MiB each, base64'd.
    static func maxBody(_ head: HTTPRequestHead) -> Int {
        head.method == .POST && head.uri == "/v1/certificates" ? 3 * maxBody : maxBody
    }
    /// Pieces of a blob (each at most one read's worth) waiting for the disk before reading stops.
    static let maxPendingPieces = 4

    init(router: ControlRouter, allowed: Bool, peerIsRoot: Bool, connections: ServerConnections) {
        self.router = router
        self.allowed = allowed
        self.peerIsRoot = peerIsRoot
        self.connections = connections
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .idle) where head.method == .PUT && head.uri.hasPrefix(Self.blobPrefix):
            startUpload(head, context: context)
        case (.head(let head), .idle):
            state = .receiving(head, body: Data())
        case (.body(let buffer), .receiving(let head, var body)):
            state = .handling  // drops the reference so the append does not copy
            body.append(contentsOf: buffer.readableBytesView)
            let limit = Self.maxBody(head)
            guard body.count <= limit else {
                state = .refused
                let refusal = BatonError(.invalidArgument, "request body larger than \(limit) bytes")
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
        case (.body(let buffer), .uploading(let upload, let pending, let readHeld)):
            state = .uploading(upload, pending: pending + 1, readHeld: readHeld)
            let target = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
            let loop = context.eventLoop
            let connections = self.connections
            upload.write(buffer) {
                connections.execute(on: loop) { target.value.handler.pieceWritten(context: target.value.context) }
            }
        case (.end, .uploading(let upload, _, _)):
            state = .handling
            let target = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
            let loop = context.eventLoop
            let connections = self.connections
            upload.finish { reply in
                connections.execute(on: loop) { target.value.handler.reply(context: target.value.context, reply, keepAlive: false) }
            }
        case (_, .refused):
            break
        case (.head, _), (.body, _), (.end, _):
            // HTTPServerPipelineHandler holds the next request back until this one is answered,
            // so a part out of order is a bug: answer it once and close rather than guess.
            state = .refused
            reply(context: context, ControlRouter.error(BatonError(.internal, "request parts out of order")), keepAlive: false)
        }
    }

    static let blobPrefix = "/v1/blobs/"

    /// Begins `PUT /v1/blobs/DIGEST`: only for allowed peers, with a Content-Length (the size
    /// the blob must have).
    private func startUpload(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let refuse = { (reply: ControlReply) in
            self.state = .refused
            self.reply(context: context, reply, keepAlive: false)
        }
        guard allowed else {
            let refusal = ControlErrorBody(error: "permission denied: only root or the socket's group may use the control API", code: "permission")
            return refuse(ControlReply(status: 403, body: (try? ControlJSON.encoder().encode(refusal)) ?? Data()))
        }
        let raw = String(head.uri.dropFirst(Self.blobPrefix.count))
        let digest = raw.removingPercentEncoding ?? raw
        guard let length = head.headers["content-length"].first.flatMap({ Int64($0) }), length >= 0 else {
            return refuse(ControlRouter.error(BatonError(.invalidArgument, "a blob upload needs a Content-Length (the blob's size)")))
        }
        state = .uploading(BlobUpload(root: router.deploys.root, digest: digest, size: length), pending: 0, readHeld: false)
    }

    /// A piece of the blob is on disk: read from the client again if that was held back.
    private func pieceWritten(context: ChannelHandlerContext) {
        guard case .uploading(let upload, let pending, let readHeld) = state else { return }
        let resume = readHeld && pending - 1 < Self.maxPendingPieces
        state = .uploading(upload, pending: pending - 1, readHeld: readHeld && !resume)
        if resume { context.read() }
    }

    func read(context: ChannelHandlerContext) {
        if case .uploading(let upload, let pending, _) = state, pending >= Self.maxPendingPieces {
            state = .uploading(upload, pending: pending, readHeld: true)
            return
        }
        context.read()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .uploading(let upload, _, _) = state {
            upload.cancel()
            state = .refused
        }
        context.fireChannelInactive()
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
        for (name, value) in reply.headers { headers.add(name: name, value: value) }
        if !keepAlive { headers.add(name: "connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: reply.status)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if !reply.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: reply.body)))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if let sent = reply.sent { done.whenComplete { _ in sent() } }
        if keepAlive {
            if case .handling = state { state = .idle }
        } else {
            done.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}
