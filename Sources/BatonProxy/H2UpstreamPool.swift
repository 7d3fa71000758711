import NIOCore
import NIOHTTP2

/// The h2c connections of one event loop, by target (`UpstreamProtocol.h2c` routes). A
/// request's stream goes on the first connection to its target that has room under the peer's
/// SETTINGS_MAX_CONCURRENT_STREAMS and is neither going away nor closed; when none has, a new
/// connection is made, through the same `UpstreamConnector` as HTTP/1.1 ones. Touched only from
/// its loop.
final class H2UpstreamPool {
    private let eventLoop: any EventLoop
    private let shared: ProxyShared
    private var connections: [Target: [H2UpstreamConnection]] = [:]

    init(eventLoop: any EventLoop, shared: ProxyShared) {
        self.eventLoop = eventLoop
        self.shared = shared
    }

    /// A new stream to `target`, its pipeline set up by `initializer`. `established` says
    /// whether it went on a connection made before (which, like a pooled HTTP/1.1 connection,
    /// the upstream may have closed under it).
    func openStream(
        to target: TargetState, _ initializer: @escaping NIOChannelInitializer
    ) -> (stream: EventLoopFuture<any Channel>, established: Bool) {
        let connection = connections[target.target]?.first(where: \.acceptsStreams) ?? connect(to: target)
        let established = connection.isEstablished
        return (connection.openStream(on: eventLoop, initializer), established)
    }

    private func connect(to target: TargetState) -> H2UpstreamConnection {
        let configuration = shared.configuration
        let connection = H2UpstreamConnection(target: target.target, idleTimeout: configuration.upstreamIdleTimeout) {
            [self] closed in
            forget(closed)
        }
        connections[target.target, default: []].append(connection)
        let box = NIOLoopBound(connection, eventLoop: eventLoop)
        let settings = Self.settings(configuration)
        let connecting = shared.connector.connect(to: target.target, on: eventLoop, timeout: configuration.connectTimeout) { channel in
            channel.eventLoop.makeCompletedFuture {
                let multiplexer = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                    mode: .client, connectionConfiguration: settings.connection, streamConfiguration: settings.stream
                ) { pushed in
                    // Push is off (SETTINGS_ENABLE_PUSH 0): a peer that opens a stream anyway is refused.
                    pushed.close()
                }
                box.value.multiplexer = multiplexer
                try channel.pipeline.syncOperations.addHandler(box.value)
            }
        }
        connecting.assumeIsolated().whenComplete { result in
            switch result {
            case .success: connection.connected()
            case .failure(let error): connection.failed(error)
            }
        }
        return connection
    }

    private func forget(_ connection: H2UpstreamConnection) {
        guard var list = connections[connection.target] else { return }
        list.removeAll { $0 === connection }
        connections[connection.target] = list.isEmpty ? nil : list
    }

    /// Drains: connections to `target` take no new streams and close once idle; with
    /// `includingBusy`, they close now, streams in flight and all.
    func closeConnections(to target: Target, includingBusy: Bool) {
        for connection in connections[target] ?? [] {
            if includingBusy { connection.close() } else { connection.retire() }
        }
    }

    func closeAll() {
        for connection in connections.values.flatMap({ $0 }) { connection.close() }
    }

    /// What the proxy asks of an h2c upstream: no push; response headers up to the proxy's
    /// header limit; a 256 KiB window per stream (what one slow client can leave buffered in
    /// the proxy) and 1 MiB for the connection, which is topped up as data arrives, so one
    /// stalled stream never holds back the others.
    static func settings(_ configuration: ProxyConfiguration) -> NIOHTTP2Handler.Configuration {
        let streamWindow = 256 * 1024
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = [
            HTTP2Setting(parameter: .enablePush, value: 0),
            HTTP2Setting(parameter: .maxConcurrentStreams, value: 100),
            HTTP2Setting(parameter: .initialWindowSize, value: streamWindow),
            HTTP2Setting(parameter: .maxHeaderListSize, value: configuration.maxHeaderBytes),
        ]
        connection.targetWindowSize = 1024 * 1024
        var stream = NIOHTTP2Handler.StreamConfiguration()
        stream.targetWindowSize = streamWindow
        // A request body waits (the client's reads stop) past 64 KiB the stream cannot send yet.
        stream.outboundBufferSizeHighWatermark = 64 * 1024
        stream.outboundBufferSizeLowWatermark = 32 * 1024
        return NIOHTTP2Handler.Configuration(connection: connection, stream: stream)
    }
}
