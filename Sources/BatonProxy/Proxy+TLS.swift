import BatonOS
import NIOCore
import NIOSSL
import NIOTLS

extension Proxy {
    /// Starts accepting TLS on `host:port` (port 0 picks a free port): each hello gets its
    /// certificate from `certificates` by SNI, ALPN picks HTTP/2 or HTTP/1.1, and requests are
    /// routed as on the plain listener, sharing its event loops, upstream pools, route table,
    /// shutdown and accept backoff. From then on `--https-redirect` sends plain requests here.
    /// Returns the bound address.
    public func startTLS(host: String, port: Int, certificates: any ServerCertificates) async throws -> SocketAddress {
        try await startTLS(.address(host: host, port: port), certificates: certificates)
    }

    /// Starts accepting TLS on `fd`, a TCP socket already listening (the daemon that hands it
    /// over keeps its own copy), as `startTLS(host:port:certificates:)` does on a socket of its
    /// own; returns its address. The proxy owns `fd` from here on, even when this throws.
    public func startTLS(adoptingListener fd: Int32, certificates: any ServerCertificates) async throws -> SocketAddress {
        try await startTLS(.descriptor(fd), certificates: certificates)
    }

    private func startTLS(_ source: ListenerSource, certificates: any ServerCertificates) async throws -> SocketAddress {
        let pipelines = self.pipelines
        let address = try await listen(source, allowRemoteHalfClosure: false) { channel in
            try pipelines.tls(channel, certificates: certificates)
        }
        shared.httpsListening(on: address.port)
        return address
    }
}

extension ClientPipelines {
    /// A connection to the HTTPS listener: plain HTTP is told where it is, the hello's server
    /// name picks the certificate, the handshake is bounded, and ALPN's choice gets its handlers.
    func tls(_ channel: any Channel, certificates: any ServerCertificates) throws {
        let loop = loop(for: channel)
        let handshake = TLSHandshakeHandler(timeout: shared.configuration.clientHeaderTimeout) { channel, protocolName in
            if protocolName == "h2" {
                try http2(channel, loop: loop, secure: true)
            } else {
                try http1(channel, loop: loop, secure: true)
            }
        }
        let serverName = ByteToMessageHandler(SNIHandler { result in
            Self.startTLS(channel, result: result, certificates: certificates, before: handshake)
        })
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(PlainHTTPOnTLSPort())
        try pipeline.addHandler(serverName)
        try pipeline.addHandler(handshake)
        loop.accepted(channel)
    }

    /// Asks `certificates` for the context of the hello's server name and puts the TLS handler
    /// in place; the SNI handler then leaves and hands it the hello. With no context (no
    /// certificate for the name, or none for a hello without SNI) the client gets a fatal
    /// `unrecognized_name` alert and the connection closes; a lookup that fails, `internal_error`.
    private static func startTLS(
        _ channel: any Channel, result: SNIResult, certificates: any ServerCertificates, before handshake: TLSHandshakeHandler
    ) -> EventLoopFuture<Void> {
        let serverName: String?
        switch result {
        case .hostname(let name):
            // A name that is no host name (bad characters) counts as none, as does an IP
            // address, which RFC 6066 does not allow there (some clients send it anyway).
            serverName = (try? SocketAddress(ipAddress: name, port: 0)) == nil ? HostName.normalize(name) : nil
        case .fallback:
            serverName = nil
        }
        let ready = channel.eventLoop.makePromise(of: Void.self)
        certificates.context(forServerName: serverName, eventLoop: channel.eventLoop)
            .hop(to: channel.eventLoop)
            .assumeIsolated()
            .whenComplete { found in
                switch found {
                case .success(let context?):
                    do {
                        let tls = NIOSSLServerHandler(context: context)
                        try channel.pipeline.syncOperations.addHandler(tls, position: .before(handshake))
                        ready.succeed()
                    } catch {
                        channel.close(promise: nil)
                        ready.fail(error)
                    }
                case .success(nil):
                    refuse(channel, alert: TLSAlert.unrecognizedName)
                    ready.fail(TLSRefused())
                case .failure(let error):
                    refuse(channel, alert: TLSAlert.internalError)
                    ready.fail(error)
                }
            }
        return ready.futureResult
    }

    private static func refuse(_ channel: any Channel, alert: UInt8) {
        channel.writeAndFlush(TLSAlert.record(alert, allocator: channel.allocator)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}

/// No certificate for the hello: the connection was refused with an alert.
private struct TLSRefused: Error {}

/// A fatal TLS alert sent in the clear before any handshake (RFC 8446 §6): what a client that
/// gets no certificate reads, instead of a bare close.
enum TLSAlert {
    static let unrecognizedName: UInt8 = 112
    static let internalError: UInt8 = 80

    static func record(_ description: UInt8, allocator: ByteBufferAllocator) -> ByteBuffer {
        // Content type alert (21), legacy version TLS 1.2, length 2, level fatal (2).
        allocator.buffer(bytes: [21, 3, 3, 0, 2, 2, description])
    }
}
