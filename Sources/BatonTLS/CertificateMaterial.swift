import BatonOS
import BatonProxy
import Crypto
import FoundationEssentials
import NIOSSL
import SwiftASN1
import X509

/// Where a stored certificate came from. An ACME issuer would add its own case beside the
/// local CA's; each source has its own directory in the store.
public enum CertificateSource: String, Sendable, Codable, CaseIterable {
    /// `baton cert add`: the operator's files.
    case file
    /// Issued on demand by the daemon's own CA (`--local-ca`).
    case localCA = "local-ca"
}

/// A certificate chain (leaf first) with its private key, parsed and known to belong together.
public struct CertificateMaterial: Sendable {
    public let chain: [Certificate]
    public let key: Certificate.PrivateKey
    /// The chain then the key, as PEM: what the store writes and what the listener loads.
    public let pem: String

    public var leaf: Certificate { chain[0] }

    /// The leaf's subjectAltName DNS names, lower-cased: the names it serves.
    public var names: [String] {
        let alternatives = (try? leaf.extensions.subjectAlternativeNames) ?? nil
        return (alternatives ?? SubjectAlternativeNames()).compactMap { name in
            if case .dnsName(let dns) = name { return dns.lowercased() }
            return nil
        }
    }

    /// SHA-256 of the leaf's DER, as `AB:CD:…`.
    public var fingerprint: String { leaf.fingerprint }

    /// `chain` and `key`, which the caller has checked belong together.
    init(chain: [Certificate], key: Certificate.PrivateKey, keyDocument: PEMDocument) throws {
        self.chain = chain
        self.key = key
        pem = try CertificatePEM.text(chain: chain, key: keyDocument)
    }

    /// A chain and key read back from the store's PEM (checked when they were added or issued).
    init(storedPEM text: String, what: String) throws(BatonError) {
        let bytes = Array(text.utf8)
        let chain = try CertificatePEM.chain(bytes, what: what, allowingKey: true)
        let (key, document) = try CertificatePEM.key(bytes, what: what)
        guard let first = chain.first, key.publicKey == first.publicKey else {
            throw BatonError(.corrupt, "\(what): the key does not belong to the certificate")
        }
        do {
            try self.init(chain: chain, key: key, keyDocument: document)
        } catch {
            throw BatonError(.corrupt, "\(what): \(error)")
        }
    }

    /// The listener's TLS context for this chain and key (`ProxyTLS.serverContext`).
    public func serverContext() throws(BatonError) -> NIOSSLContext {
        do {
            let bytes = Array(pem.utf8)
            let certificates = try NIOSSLCertificate.fromPEMBytes(bytes)
            let privateKey = try NIOSSLPrivateKey(bytes: bytes, format: .pem)
            return try ProxyTLS.serverContext(certificateChain: certificates, privateKey: privateKey)
        } catch {
            throw BatonError(.invalidArgument, "the TLS library refuses this certificate and key: \(error)")
        }
    }

    /// What `cert ls` shows of it, stored for `host` from `source`.
    public func record(host: String, source: CertificateSource) -> CertificateRecord {
        CertificateRecord(host: host, source: source, issuer: leaf.issuer.description, subject: leaf.subject.description,
                          names: names, notBefore: leaf.notValidBefore, notAfter: leaf.notValidAfter, fingerprint: fingerprint)
    }
}

/// One stored certificate as `baton cert ls` lists it.
public struct CertificateRecord: Sendable, Equatable {
    /// What it is stored and chosen under: `a.example.com` or `*.example.com`.
    public var host: String
    public var source: CertificateSource
    public var issuer: String
    public var subject: String
    public var names: [String]
    public var notBefore: Date
    public var notAfter: Date
    public var fingerprint: String
}

extension Certificate {
    /// SHA-256 of the certificate's DER, as `AB:CD:…` (what `openssl x509 -fingerprint -sha256`
    /// and browsers show).
    public var fingerprint: String {
        var serializer = DER.Serializer()
        guard (try? serializer.serialize(self)) != nil else { return "" }
        return SHA256.hash(data: serializer.serializedBytes)
            .map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true) }
            .joined(separator: ":")
    }
}
