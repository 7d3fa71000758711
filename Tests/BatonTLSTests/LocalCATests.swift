import BatonTestSupport
import BatonTLS
import Foundation
import Glibc
import Testing

/// The daemon's own CA: made once, kept private, and issuing leaves that openssl verifies.
@Suite struct LocalCATests {
    let temp = TempDir(prefix: "baton-tls-ca")

    func mode(_ path: String) -> mode_t {
        var info = stat()
        stat(path, &info)
        return info.st_mode & 0o7777
    }

    func write(_ text: String, _ name: String) throws -> String {
        let path = temp.sub(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func isMadeOnceWithItsKeyPrivateAndKeptAcrossLoads() throws {
        defer { temp.remove() }
        let store = CertificateStore(root: temp.path)
        let first = try LocalCA.loadOrCreate(store: store)
        let again = try LocalCA.loadOrCreate(store: store)
        #expect(first.fingerprint == again.fingerprint)
        #expect(mode(temp.sub("tls")) == 0o700)
        #expect(mode(temp.sub("tls/local-ca")) == 0o700)
        #expect(mode(temp.sub("tls/local-ca/ca.pem")) == 0o600)

        let ca = try write(first.certificatePEM, "ca.pem")
        #expect(!first.certificatePEM.contains("PRIVATE KEY"))
        let text = try TestPKI.openssl(["x509", "-in", ca, "-noout", "-text"])
        #expect(text.contains("CA:TRUE, pathlen:0"), "\(text)")
        #expect(text.contains("Certificate Sign, CRL Sign"))
        #expect(text.contains("ASN1 OID: prime256v1"))
        let end = first.certificate.notValidAfter.timeIntervalSinceNow
        #expect(end > 9.9 * 365 * 86_400 && end < 10.1 * 365 * 86_400)
    }

    @Test func aStoredCAThatCannotBeReadIsAnErrorNotReplaced() throws {
        defer { temp.remove() }
        let store = CertificateStore(root: temp.path)
        _ = try LocalCA.loadOrCreate(store: store)
        let path = temp.sub("tls/local-ca/ca.pem")
        try "garbage".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: (any Error).self) { try LocalCA.loadOrCreate(store: store) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "garbage")
    }

    @Test(arguments: ["app.example.com", "*.preview.localhost"])
    func issuesLeavesThatOpensslVerifies(_ name: String) throws {
        defer { temp.remove() }
        let authority = try LocalCA.loadOrCreate(store: CertificateStore(root: temp.path))
        let leaf = try authority.issue(for: name, now: Date())
        let ca = try write(authority.certificatePEM, "ca.pem")
        let cert = try write(leaf.pem, "leaf.pem")
        let host = name.replacingOccurrences(of: "*", with: "pr-42")
        let verified = try TestPKI.openssl(["verify", "-CAfile", ca, "-purpose", "sslserver", "-verify_hostname", host, cert])
        #expect(verified.contains(": OK"), "\(verified)")
        let text = try TestPKI.openssl(["x509", "-in", cert, "-noout", "-text"])
        #expect(text.contains("DNS:\(name)"))
        #expect(text.contains("TLS Web Server Authentication"))
        #expect(text.contains("CA:FALSE"))
        #expect(leaf.names == [name])
        let lifetime = leaf.leaf.notValidAfter.timeIntervalSince(leaf.leaf.notValidBefore)
        #expect(lifetime > 7 * 86_400 && lifetime < 7 * 86_400 + 3600)
        #expect(authority.issued(leaf))
        #expect(authority.renewalDate(of: leaf) < leaf.leaf.notValidAfter.addingTimeInterval(-2 * 86_400))
    }

    @Test func leavesOfAnotherCAAreNotItsOwn() throws {
        defer { temp.remove() }
        for root in ["one", "other"] { try FileManager.default.createDirectory(atPath: temp.sub(root), withIntermediateDirectories: true) }
        let one = try LocalCA.loadOrCreate(store: CertificateStore(root: temp.sub("one")))
        let other = try LocalCA.loadOrCreate(store: CertificateStore(root: temp.sub("other")))
        #expect(!other.issued(try one.issue(for: "app.example.com", now: Date())))
    }
}
