import NIOCore
import NIOSSL

/// Where the HTTPS listener gets the certificate for each client hello: the daemon's
/// certificate store (BatonTLS) in production, a fixed set in tests. Asked on the connection's
/// event loop for every handshake, so the usual answer is a context already made.
public protocol ServerCertificates: Sendable {
    /// The TLS context for a hello naming `serverName` (lower-cased, no trailing dot), or for a
    /// hello without SNI when `serverName` is nil. A nil result refuses the handshake.
    func context(forServerName serverName: String?, eventLoop: any EventLoop) -> EventLoopFuture<NIOSSLContext?>
}

/// How every context of the HTTPS listener is made, whoever holds the certificate: TLS 1.2 and
/// 1.3 only, ALPN offering HTTP/2 then HTTP/1.1.
public enum ProxyTLS {
    public static let applicationProtocols = ["h2", "http/1.1"]

    public static func serverContext(certificateChain: [NIOSSLCertificate], privateKey: NIOSSLPrivateKey) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificateChain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = applicationProtocols
        return try NIOSSLContext(configuration: configuration)
    }
}
