import FoundationEssentials

/// `baton cert add`: the files' bytes as the CLI read them (base64, so the daemon can tell
/// DER or binary garbage from PEM and say so); every check runs in the daemon.
public struct CertificateAddRequest: Codable, Sendable {
    public var host: String
    public var certificate: String
    public var key: String
    /// Accept an expired or not yet valid certificate, and a host no app serves.
    public var force: Bool

    public init(host: String, certificate: [UInt8], key: [UInt8], force: Bool) {
        self.host = host
        self.certificate = Data(certificate).base64EncodedString()
        self.key = Data(key).base64EncodedString()
        self.force = force
    }
}

/// One certificate the HTTPS listener serves (`baton cert ls`).
public struct CertificateInfo: Codable, Sendable, Equatable {
    /// What it is chosen under: `a.example.com` or `*.example.com`.
    public var host: String
    public var issuer: String
    public var subject: String
    /// Its subjectAltName DNS names.
    public var names: [String]
    public var notBefore: String
    public var notAfter: String
    /// SHA-256 of the certificate, `AB:CD:…`.
    public var fingerprint: String
    /// `file` (cert add) or `local-ca` (issued by the daemon's CA).
    public var source: String

    public init(host: String, issuer: String, subject: String, names: [String], notBefore: String, notAfter: String,
                fingerprint: String, source: String) {
        self.host = host
        self.issuer = issuer
        self.subject = subject
        self.names = names
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.fingerprint = fingerprint
        self.source = source
    }
}

/// What `cert add` stored, and what the user should know about it.
public struct CertificateAddReply: Codable, Sendable {
    public var certificate: CertificateInfo
    /// Expired or not yet valid (added with --force), or ending soon.
    public var warnings: [String]

    public init(certificate: CertificateInfo, warnings: [String]) {
        self.certificate = certificate
        self.warnings = warnings
    }
}

/// The daemon's local CA (`baton cert ca`).
public struct LocalCAInfo: Codable, Sendable {
    /// The CA certificate as PEM, for clients to trust.
    public var certificate: String
    public var subject: String
    public var notAfter: String
    public var fingerprint: String

    public init(certificate: String, subject: String, notAfter: String, fingerprint: String) {
        self.certificate = certificate
        self.subject = subject
        self.notAfter = notAfter
        self.fingerprint = fingerprint
    }
}
