import BatonControl
import BatonOS
import BatonProxy
import BatonTLS
import Foundation

/// `baton cert add|ls|rm|ca` behind the control API: the checks (BatonTLS), then the store
/// and the HTTPS listener's certificates (`CertificateResolver`), one change at a time.
actor CertificateService {
    let resolver: CertificateResolver
    let servedNames: ServedNames
    let proxy: Proxy
    /// The daemon's CA when it runs with --local-ca.
    let localCA: LocalCA?

    init(resolver: CertificateResolver, servedNames: ServedNames, proxy: Proxy, localCA: LocalCA?) {
        self.resolver = resolver
        self.servedNames = servedNames
        self.proxy = proxy
        self.localCA = localCA
    }

    func add(_ request: CertificateAddRequest) async throws -> CertificateAddReply {
        guard let certificate = Data(base64Encoded: request.certificate), let key = Data(base64Encoded: request.key) else {
            throw BatonError(.invalidArgument, "the certificate and key must be sent base64-encoded")
        }
        // Parsing and signature checks take milliseconds of CPU (RSA): off the shared pool.
        let accepted = try await DetachedThread.run {
            try CertificateCheck.check(host: request.host, certificate: Array(certificate), key: Array(key), force: request.force)
        }
        var warnings = accepted.warnings
        if !servedNames.serves(accepted.host, routes: proxy.routeTable) {
            guard request.force else {
                throw BatonError(.invalidArgument, "no app serves \(accepted.host): create the app first (baton app create APP --host \(accepted.host)), or add it anyway with --force")
            }
            warnings.append("no app serves \(accepted.host) yet; added anyway (--force)")
        }
        let record = try resolver.add(accepted)
        return CertificateAddReply(certificate: Self.info(record), warnings: warnings)
    }

    func list() -> [CertificateInfo] {
        resolver.records.map(Self.info)
    }

    func remove(host: String) throws {
        guard let name = CertificateName.normalize(host) else {
            throw BatonError(.invalidArgument, "invalid host '\(host)': use the host 'baton cert ls' shows")
        }
        guard try resolver.remove(host: name) else {
            throw BatonError(.notFound, "no certificate for \(name): see 'baton cert ls'")
        }
    }

    func authority() throws -> LocalCAInfo {
        guard let localCA else {
            throw BatonError(.conflict, "the daemon runs without a local CA: start it with 'baton daemon --local-ca'")
        }
        return LocalCAInfo(certificate: localCA.certificatePEM, subject: localCA.certificate.subject.description,
                           notAfter: Timestamp.string(localCA.certificate.notValidAfter, fractionalSeconds: false),
                           fingerprint: localCA.fingerprint)
    }

    static func info(_ record: CertificateRecord) -> CertificateInfo {
        CertificateInfo(host: record.host, issuer: record.issuer, subject: record.subject, names: record.names,
                        notBefore: Timestamp.string(record.notBefore, fractionalSeconds: false),
                        notAfter: Timestamp.string(record.notAfter, fractionalSeconds: false),
                        fingerprint: record.fingerprint, source: record.source.rawValue)
    }
}
