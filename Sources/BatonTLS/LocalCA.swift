import BatonOS
import Crypto
import FoundationEssentials
import SwiftASN1
import X509

/// The daemon's own certificate authority (`baton daemon --local-ca`), as Caddy's internal
/// issuer: an ECDSA P-256 root made on first start and kept under the root (0600), which
/// issues short-lived certificates for the names the proxy serves. Clients trust it once
/// (`baton cert ca`); its leaves renew themselves long before they end.
public struct LocalCA: CertificateIssuer {
    /// About ten years: the operator installs it once.
    public static let validity: TimeInterval = 3652 * 86_400
    /// A leaf lives a week (Caddy's internal issuer: hours) and is renewed with a third left,
    /// so a leaked leaf key is useful for days, not years.
    public static let leafValidity: TimeInterval = 7 * 86_400
    /// Leaves start a little in the past, for clients whose clocks run behind.
    static let backdate: TimeInterval = 300

    public let certificate: Certificate
    let key: Certificate.PrivateKey
    /// The CA certificate alone, as PEM: what `baton cert ca` prints for clients to trust.
    public let certificatePEM: String

    public var source: CertificateSource { .localCA }
    public var fingerprint: String { certificate.fingerprint }

    init(material: CertificateMaterial) throws {
        certificate = material.leaf
        key = material.key
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        certificatePEM = PEMDocument(type: "CERTIFICATE", derBytes: serializer.serializedBytes).pemString + "\n"
    }

    /// The CA stored in `store`, made (and stored, 0600) when there is none yet. A stored CA
    /// that cannot be read is an error, not replaced: clients trust it, and a new one would
    /// silently break them.
    public static func loadOrCreate(store: CertificateStore, now: Date = Date()) throws(BatonError) -> LocalCA {
        let path = store.localCAPath
        let text: String?
        do {
            text = try KeyFile.read(path)
        } catch {
            throw BatonError(.internal, "cannot read the local CA: \(error)", cause: error)
        }
        if let text {
            let material = try CertificateMaterial(storedPEM: text, what: path)
            guard case .isCertificateAuthority = (try? material.leaf.extensions.basicConstraints) ?? nil,
                let authority = try? LocalCA(material: material)
            else {
                throw BatonError(.corrupt, "\(path) is not a CA certificate: move it away to have the daemon make a new local CA (clients must then trust the new one)")
            }
            return authority
        }
        do {
            let authority = try LocalCA(material: makeRoot(now: now))
            try store.write(authority.certificatePEM + authority.key.serializeAsPEM().pemString + "\n", to: path)
            return authority
        } catch let error as BatonError {
            throw error
        } catch {
            throw BatonError(.internal, "cannot make the local CA: \(error)", cause: error)
        }
    }

    private static func makeRoot(now: Date) throws -> CertificateMaterial {
        let secret = P256.Signing.PrivateKey()
        let key = Certificate.PrivateKey(secret)
        // A short random id in the name: two roots on one machine make two CAs, and trust
        // stores that list them by name must tell them apart.
        let id = (0..<3).map { _ in String(UInt8.random(in: 0...255), radix: 16) }.joined()
        let name = try DistinguishedName {
            OrganizationName("Baton")
            CommonName("Baton local CA \(id)")
        }
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
            Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            SubjectKeyIdentifier(hash: key.publicKey)
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
            notValidBefore: now - backdate, notValidAfter: now + validity, issuer: name, subject: name,
            signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: key)
        return try CertificateMaterial(chain: [certificate], key: key, keyDocument: PEMDocument(pemString: secret.pemRepresentation))
    }

    public func issue(for name: String, now: Date) throws -> CertificateMaterial {
        let secret = P256.Signing.PrivateKey()
        let publicKey = Certificate.PrivateKey(secret).publicKey
        let authorityKeyID = (try? certificate.extensions.subjectKeyIdentifier)??.keyIdentifier
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage([.serverAuth])
            SubjectAlternativeNames([.dnsName(name)])
            SubjectKeyIdentifier(hash: publicKey)
            AuthorityKeyIdentifier(keyIdentifier: authorityKeyID)
        }
        let leaf = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
            notValidBefore: now - Self.backdate, notValidAfter: now + Self.leafValidity,
            issuer: certificate.subject, subject: try DistinguishedName { CommonName(name) },
            signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: key)
        return try CertificateMaterial(chain: [leaf], key: Certificate.PrivateKey(secret),
                                       keyDocument: PEMDocument(pemString: secret.pemRepresentation))
    }

    public func issued(_ material: CertificateMaterial) -> Bool {
        let leaf = material.leaf
        return leaf.issuer == certificate.subject && certificate.publicKey.isValidSignature(leaf.signature, for: leaf)
    }

    /// With a third of its life left, as Caddy renews.
    public func renewalDate(of material: CertificateMaterial) -> Date {
        let leaf = material.leaf
        return leaf.notValidAfter - leaf.notValidAfter.timeIntervalSince(leaf.notValidBefore) / 3
    }
}
