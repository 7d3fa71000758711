import BatonOS
import FoundationEssentials
import X509

/// The checks `baton cert add` runs in the daemon before anything is stored: the chain and
/// key parse, belong together and to the host, are in date (unless forced), and the TLS
/// library takes them. Each failure is one message saying what to do.
public enum CertificateCheck {
    /// The most a --cert or --key file may hold; real ones are a few KiB.
    public static let maxFileBytes = 1 << 20
    /// A certificate ending sooner than this is accepted with a warning.
    public static let soonExpiring: TimeInterval = 30 * 86_400

    public struct Accepted: Sendable {
        /// The store name: lower-cased host, exact or `*.domain`.
        public let host: String
        public let material: CertificateMaterial
        /// Accepted anyway: expired or not yet valid with --force, or ending soon.
        public let warnings: [String]
    }

    public static func check(host: String, certificate: [UInt8], key: [UInt8], force: Bool, now: Date = Date()) throws(BatonError) -> Accepted {
        guard let name = CertificateName.normalize(host) else {
            throw BatonError(.invalidArgument, "invalid host '\(host)': use a DNS name such as app.example.com, or *.example.com for a wildcard certificate")
        }
        for (bytes, what) in [(certificate, "the --cert file"), (key, "the --key file")] where bytes.count > maxFileBytes {
            throw BatonError(.invalidArgument, "\(what) is larger than \(maxFileBytes) bytes (1 MiB): give the PEM certificate chain and its key")
        }
        let chain = try CertificatePEM.chain(certificate, what: "the --cert file")
        let (privateKey, keyDocument) = try CertificatePEM.key(key, what: "the --key file")
        let leaf = chain[0]
        guard privateKey.publicKey == leaf.publicKey else {
            throw BatonError(.invalidArgument, "the private key does not match the certificate (their public keys differ): give the key the certificate was issued for")
        }
        if case .isCertificateAuthority = (try? leaf.extensions.basicConstraints) ?? nil {
            throw BatonError(.invalidArgument, "the first certificate of the --cert file is a CA certificate (\(leaf.subject)): put the server's certificate first, then its intermediates")
        }
        try checkOrder(chain)
        let material: CertificateMaterial
        do {
            material = try CertificateMaterial(chain: chain, key: privateKey, keyDocument: keyDocument)
        } catch {
            throw BatonError(.invalidArgument, "cannot write the certificate as PEM: \(error)")
        }
        let names = material.names
        guard !names.isEmpty else {
            throw BatonError(.invalidArgument, "the certificate names no DNS host (no subjectAltName; clients ignore the common name): issue it with subjectAltName DNS:\(name)")
        }
        guard names.contains(where: { CertificateName.covers($0, name) }) else {
            throw BatonError(.invalidArgument, "the certificate does not cover \(name): it is for \(names.joined(separator: ", "))")
        }
        let warnings = try dateWarnings(leaf, force: force, now: now)
        _ = try material.serverContext()
        return Accepted(host: name, material: material, warnings: warnings)
    }

    /// Each certificate must be issued (name and signature) by the next one: a client given
    /// the chain out of order, or with a stranger's intermediate, fails to verify it.
    private static func checkOrder(_ chain: [Certificate]) throws(BatonError) {
        for index in chain.indices.dropLast() {
            let (child, parent) = (chain[index], chain[index + 1])
            guard child.issuer == parent.subject, parent.publicKey.isValidSignature(child.signature, for: child) else {
                throw BatonError(.invalidArgument, "certificate \(index + 2) of the --cert file (\(parent.subject)) did not issue certificate \(index + 1) (issued by \(child.issuer)): give the server's certificate first, then each intermediate in order")
            }
        }
    }

    private static func dateWarnings(_ leaf: Certificate, force: Bool, now: Date) throws(BatonError) -> [String] {
        let validity = "valid \(day(leaf.notValidBefore)) to \(day(leaf.notValidAfter))"
        var problem: String?
        if now > leaf.notValidAfter {
            problem = "the certificate expired on \(day(leaf.notValidAfter)) (\(validity))"
        } else if now < leaf.notValidBefore {
            problem = "the certificate is not valid before \(day(leaf.notValidBefore)) (\(validity))"
        }
        if let problem {
            guard force else { throw BatonError(.invalidArgument, "\(problem): renew it, or add it anyway with --force") }
            return ["\(problem); added anyway (--force): clients will refuse it"]
        }
        if leaf.notValidAfter.timeIntervalSince(now) < soonExpiring {
            return ["the certificate expires on \(day(leaf.notValidAfter)), in less than 30 days: renew it soon"]
        }
        return []
    }

    /// `2026-05-01T12:00:00Z`.
    static func day(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle())
    }
}
