import BatonOS

/// The certificates under the root, one PEM file per host and source:
///
///     $ROOT/tls/                      0700
///       certs/HOST.pem                `baton cert add`: the chain, then the key (0600)
///       local-ca/ca.pem               the local CA's certificate, then its key (0600)
///       local-ca/issued/HOST.pem      what the local CA issued, kept across restarts
///
/// HOST is the stored name: `a.example.com` or `*.example.com` (a valid DNS name or wildcard,
/// so never `..` nor `/`). Chain and key share one file so that one rename replaces both: a
/// crash never pairs a new certificate with an old key. An ACME issuer would keep its own
/// `acme/` beside `local-ca/`.
public struct CertificateStore: Sendable {
    public let directory: String

    public init(root: String) {
        directory = root + "/tls"
    }

    func directory(for source: CertificateSource) -> String {
        switch source {
        case .file: directory + "/certs"
        case .localCA: localCADirectory + "/issued"
        }
    }

    var localCADirectory: String { directory + "/local-ca" }
    var localCAPath: String { localCADirectory + "/ca.pem" }

    public func path(host: String, source: CertificateSource) -> String {
        directory(for: source) + "/" + host + ".pem"
    }

    /// Writes `material` as the certificate of `host` from `source`, replacing any before it.
    public func save(_ material: CertificateMaterial, host: String, source: CertificateSource) throws(BatonError) {
        try write(material.pem, to: path(host: host, source: source))
    }

    /// Writes a private file under the store, making its directories (0700) first.
    func write(_ text: String, to path: String) throws(BatonError) {
        do {
            // The root exists (the daemon made it 0700); what is below it is made here.
            var made = directory
            try KeyFile.makeDirectory(made)
            for part in PathName.parent(of: path).dropFirst(made.count).split(separator: "/") {
                made += "/" + part
                try KeyFile.makeDirectory(made)
            }
            try KeyFile.write(text, to: path)
        } catch {
            throw BatonError(.internal, "cannot store \(path): \(error)", cause: error)
        }
    }

    /// Removes the certificate of `host` from `source`; false when there was none.
    public func remove(host: String, source: CertificateSource) throws(BatonError) -> Bool {
        do {
            return try KeyFile.remove(path(host: host, source: source))
        } catch {
            throw BatonError(.internal, "cannot remove the certificate of \(host): \(error)", cause: error)
        }
    }

    /// Every stored certificate of `source` by host, and one line for each file that could not
    /// be read (logged by the daemon, which serves the rest).
    public func load(_ source: CertificateSource) -> (certificates: [String: CertificateMaterial], problems: [String]) {
        let directory = directory(for: source)
        var certificates: [String: CertificateMaterial] = [:]
        var problems: [String] = []
        let files: [String]
        do {
            files = try KeyFile.pemFiles(in: directory)
        } catch {
            return ([:], ["cannot list \(directory): \(error)"])
        }
        for file in files {
            let path = directory + "/" + file
            guard let host = CertificateName.normalize(String(file.dropLast(".pem".count))) else {
                problems.append("\(path): not named after a host; ignored")
                continue
            }
            do {
                guard let text = try KeyFile.read(path) else { continue }
                certificates[host] = try CertificateMaterial(storedPEM: text, what: path)
            } catch {
                problems.append("\(error); ignored")
            }
        }
        return (certificates, problems)
    }
}
