import FoundationEssentials

/// Makes certificates on demand for the names the proxy serves. The local CA is one; an ACME
/// issuer (Let's Encrypt) would be another, storing under its own `CertificateSource` beside
/// it, and `CertificateResolver` would ask it the same way.
public protocol CertificateIssuer: Sendable {
    /// Where what it issues is stored.
    var source: CertificateSource { get }

    /// A new certificate and key for `name` (`a.example.com` or `*.example.com`). Blocking:
    /// called on a thread pool, never on an event loop.
    func issue(for name: String, now: Date) throws -> CertificateMaterial

    /// Whether a stored certificate is this issuer's own (one of an earlier CA, say, is not
    /// trusted by its clients any more and is issued again).
    func issued(_ material: CertificateMaterial) -> Bool

    /// When to issue the successor of a certificate it issued; it is served until then, and
    /// after then until the successor is there.
    func renewalDate(of material: CertificateMaterial) -> Date
}
