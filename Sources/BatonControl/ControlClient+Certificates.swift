import FoundationEssentials

extension ControlClient {
    /// Checks and stores a certificate chain and key for `host`; served from the next handshake on.
    public func addCertificate(_ request: CertificateAddRequest) throws -> CertificateAddReply {
        try decode(CertificateAddReply.self, try call("POST", "/v1/certificates", body: try ControlJSON.encoder().encode(request)))
    }

    public func certificates() throws -> [CertificateInfo] {
        try decode([CertificateInfo].self, try call("GET", "/v1/certificates"))
    }

    /// Removes the certificate stored for `host`.
    public func removeCertificate(host: String) throws {
        _ = try call("DELETE", "/v1/certificates/" + Self.escape(host))
    }

    /// The daemon's local CA; an error when it runs without --local-ca.
    public func localCA() throws -> LocalCAInfo {
        try decode(LocalCAInfo.self, try call("GET", "/v1/local-ca"))
    }
}
