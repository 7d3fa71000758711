import BatonOS
import Glibc
import NIOCore
import NIOPosix

/// Where a listener's socket comes from.
enum ListenerSource: Sendable {
    /// Bound and listened on here.
    case address(host: String, port: Int)
    /// A TCP socket already listening, handed over by another process (a daemon hand-off);
    /// the listener owns this descriptor and closes it when it closes.
    case descriptor(Int32)
}

extension Proxy {
    /// Connections the kernel queues for a listener while no process accepts them, as during
    /// a hand-off between two daemons.
    static let backlog: Int32 = 1024

    /// Starts accepting on `host:port` (port 0 picks a free port) and returns the bound address.
    public func start(host: String, port: Int) async throws -> SocketAddress {
        try await startPlain(.address(host: host, port: port))
    }

    /// Starts accepting on `fd`, a TCP socket already listening (the daemon that hands it over
    /// keeps its own copy), as `start(host:port:)` does on a socket of its own; returns its
    /// address. The proxy owns `fd` from here on, even when this throws.
    public func start(adoptingListener fd: Int32) async throws -> SocketAddress {
        try await startPlain(.descriptor(fd))
    }

    private func startPlain(_ source: ListenerSource) async throws -> SocketAddress {
        let pipelines = self.pipelines
        // A client that sends its request and shuts down its write side still gets the answer.
        return try await listen(source, allowRemoteHalfClosure: true) { channel in
            try pipelines.plain(channel)
        }
    }

    /// Opens a listener whose accepted connections `configure` sets up, with the backlog,
    /// accept backoff and connection count every listener of the proxy has.
    /// Receive buffers of client connections. Each connection keeps its last one between
    /// reads, idle keep-alive connections included: NIO starts at 2 KiB, while a request head
    /// is a few hundred bytes. From 512 bytes the size still doubles read by read up to 64 KiB
    /// for a client that sends a large body.
    static let clientReceiveBuffers = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536)

    /// Connections accepted per wake-up of a listener.
    static let acceptsPerWakeup: UInt = 16

    /// Reads of a client connection per wake-up. NIO keeps up to this many receive buffers
    /// per connection for good (a new one whenever the last is still in use at a read), so
    /// the decoder trims them after a request that took several reads
    /// (`ClientRequestDecoder.requestFinished`).
    static let clientReadsPerWakeup: UInt = 8

    func listen(
        _ source: ListenerSource, allowRemoteHalfClosure: Bool,
        configure: @escaping @Sendable (any Channel) throws -> Void
    ) async throws -> SocketAddress {
        let connections = shared.connections
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: Self.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Set on the listener, Linux gives it to every connection accepted from it: one
            // option fewer per connection (each costs ~1.9k instructions through NIO's options).
            .serverChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // Accepts per readable event: NIO's default is 4, and a burst of new connections
            // (every request with `Connection: close`) then costs an epoll round per four.
            .serverChannelOption(.maxMessagesPerRead, value: Self.acceptsPerWakeup)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // NIO listens again on an adopted socket with its default backlog (128),
                    // which would shrink the queue of every process sharing it: put ours back
                    // before the first accept.
                    if case .descriptor(let fd) = source {
                        try sys("listen on adopted socket \(fd)") { Glibc.listen(fd, Self.backlog) }
                    }
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(AcceptBackoff())
                    try pipeline.addHandler(connections.counter())
                }
            }
            // The connection's options are set here, synchronously, rather than as the
            // bootstrap's child options, which NIO applies one future per option: with
            // `Connection: close` that chain was 9 % of the proxy's instructions.
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let options = channel.syncOptions else { throw ChannelError.operationUnsupported }
                    try options.setOption(.maxMessagesPerRead, value: Self.clientReadsPerWakeup)
                    // Off unless asked for (NIO's default).
                    if allowRemoteHalfClosure { try options.setOption(.allowRemoteHalfClosure, value: true) }
                    try options.setOption(.recvAllocator, value: Self.clientReceiveBuffers)
                    try configure(channel)
                }
            }
        let channel: any Channel
        switch source {
        case .address(let host, let port):
            channel = try await bootstrap.bind(host: host, port: port).get()
        case .descriptor(let fd):
            try Self.checkListening(fd)
            channel = try await bootstrap.withBoundSocket(fd).get()
        }
        // A listener that comes up while the proxy shuts down is not kept.
        let kept = stopped.withLock { stopped in
            if stopped { return false }
            listeners.withLock { $0.append(channel) }
            return true
        }
        guard kept else {
            try? await channel.close()
            throw ChannelError.ioOnClosedChannel
        }
        guard let address = channel.localAddress else { throw ChannelError.unknownLocalAddress }
        return address
    }

    /// Refuses (and closes) a descriptor that is no listening TCP socket: a hand-off that
    /// passed the wrong one fails here, by name, not at the first accept.
    private static func checkListening(_ fd: Int32) throws {
        do {
            var type: Int32 = 0
            var listening: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            try sys("socket type of adopted listener \(fd)") { getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) }
            size = socklen_t(MemoryLayout<Int32>.size)
            try sys("listening state of adopted listener \(fd)") { getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) }
            guard type == Int32(SOCK_STREAM.rawValue), listening == 1 else {
                throw OSError("adopt listener \(fd): not a listening stream socket", errno: EINVAL)
            }
        } catch {
            close(fd)
            throw error
        }
    }

    /// Closes every listener, so this process accepts no more connections; a socket another
    /// process holds a copy of goes on listening there, and connections queue in its backlog
    /// until someone accepts them. Connections already accepted are served as before, and
    /// `shutdown(gracePeriod:)` still waits for them. `start(adoptingListener:)` may start
    /// accepting again afterwards (a hand-off that failed). Calling it again does nothing.
    public func stopAccepting() async {
        let open = listeners.withLock { listeners in
            defer { listeners = [] }
            return listeners
        }
        guard !open.isEmpty else { return }
        // NIO sets up an accepted connection on its own event loop, then back on the
        // listener's hands it on to be registered, and drops it (its client sees a reset) when
        // the listener has closed in between. So: no more accepts; then each loop runs what was
        // queued on it before (the setups), then each listener's loop (the hand-backs); only
        // then do the listeners close.
        for channel in open {
            try? await channel.eventLoop.submit {
                channel.pipeline.syncOperations.fireUserInboundEventTriggered(StopAccepting())
            }.get()
        }
        for loop in group.makeIterator() {
            try? await loop.submit {}.get()
        }
        for channel in open {
            try? await channel.eventLoop.submit {}.get()
            try? await channel.close()
        }
    }
}
