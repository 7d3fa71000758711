import BatonOS
import BatonProxy
import BatonTLS
import Logging
import NIOCore

/// The HTTPS listener's side of the daemon: the certificate store under the root, the local CA
/// when `--local-ca` is on, and `--listen-tls`.
extension Daemon {
    /// Builds the certificates the listener will serve. With `--local-ca`, the CA is read, or
    /// made on the first start (0600 under $ROOT/tls/local-ca).
    static func makeCertificates(options: Options, proxy: Proxy) throws -> CertificateService {
        let logger = Logger(label: "baton.tls") { _ in StreamLogHandler.standardError(label: "baton.tls") }
        let store = CertificateStore(root: options.root)
        let localCA = options.localCA ? try LocalCA.loadOrCreate(store: store) : nil
        let servedNames = ServedNames(previewDomain: options.previewDomain)
        var configuration = CertificateResolver.Configuration(
            store: store, issuer: localCA, servedNames: servedNames,
            routes: { [proxy] in proxy.routeTable }, defaultServerName: options.defaultServerName)
        configuration.report = { [logger] problem in logger.warning("\(problem)") }
        return CertificateService(resolver: CertificateResolver(configuration), servedNames: servedNames, proxy: proxy, localCA: localCA)
    }

    /// Loads the stored certificates and, with `--listen-tls`, starts the HTTPS listener.
    /// Returns its bound address, or nil without `--listen-tls`.
    func startTLS() async throws -> SocketAddress? {
        certificates.resolver.load()
        guard let (host, port) = options.tlsListen else { return nil }
        do {
            return try await proxy.startTLS(adoptingListener: try listeners.duplicate(.tls)!, certificates: certificates.resolver)
        } catch {
            throw BatonError(.setupFailed, "cannot listen for HTTPS on \(host):\(port): \(error)", cause: error)
        }
    }
}
