import BatonOS
import BatonTestSupport
import BatonTLS
import Foundation
import Testing

/// `baton cert add`'s checks against real certificates made with openssl: what is accepted,
/// and one clear error for each way a certificate or key can be wrong.
@Suite struct CertificateCheckTests {
    let temp = TempDir(prefix: "baton-tls-check")
    var pki: TestPKI { TestPKI(directory: temp.path) }

    func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    func check(_ host: String, _ pair: TestPKI.Pair, force: Bool = false, now: Date = Date()) throws -> CertificateCheck.Accepted {
        try CertificateCheck.check(host: host, certificate: try bytes(pair.cert), key: try bytes(pair.key), force: force, now: now)
    }

    /// The message of the BatonError `body` throws.
    func refusal(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "accepted"
        } catch let error as BatonError {
            #expect(error.code == .invalidArgument)
            return error.message
        } catch {
            return "unexpected \(error)"
        }
    }

    @Test func acceptsAChainWithItsIntermediateAndReportsWhatClientsSee() throws {
        defer { temp.remove() }
        let root = try pki.makeCA("Test Root")
        let intermediate = try pki.makeCA("Test Intermediate", issuer: root)
        let leaf = try pki.makeLeaf(["app.example.com"], issuer: intermediate)
        let chain = try pki.concatenate([leaf.cert, intermediate.cert], to: "chain.pem")
        let accepted = try check("App.Example.com.", TestPKI.Pair(cert: chain, key: leaf.key))
        #expect(accepted.host == "app.example.com")
        #expect(accepted.material.chain.count == 2)
        #expect(accepted.warnings.isEmpty)
        let record = accepted.material.record(host: accepted.host, source: .file)
        #expect(record.issuer.contains("Test Intermediate"))
        #expect(record.names == ["app.example.com"])
        #expect(record.fingerprint == (try TestPKI.fingerprint(leaf.cert)))
        #expect(record.notAfter > Date().addingTimeInterval(29 * 86_400))
    }

    @Test(arguments: [TestPKI.KeyType.ecP256, .ecP384, .rsa2048, .ed25519])
    func acceptsEachSupportedKeyType(_ keyType: TestPKI.KeyType) throws {
        defer { temp.remove() }
        let root = try pki.makeCA("Test Root")
        let leaf = try pki.makeLeaf(["app.example.com"], issuer: root, keyType: keyType)
        #expect(try check("app.example.com", leaf).host == "app.example.com")
    }

    @Test func refusesAWeakRSAKey() throws {
        defer { temp.remove() }
        let root = try pki.makeCA("Test Root")
        let leaf = try pki.makeLeaf(["app.example.com"], issuer: root, keyType: .rsa1024)
        let message = refusal { _ = try check("app.example.com", leaf) }
        #expect(message.contains("RSA keys need 2048 bits or more"), "\(message)")
    }

    @Test func refusesAKeyOfAnotherCertificate() throws {
        defer { temp.remove() }
        let root = try pki.makeCA("Test Root")
        let leaf = try pki.makeLeaf(["app.example.com"], issuer: root)
        let other = try pki.makeLeaf(["app.example.com"], issuer: root, tag: "other")
        let message = refusal { _ = try check("app.example.com", TestPKI.Pair(cert: leaf.cert, key: other.key)) }
        #expect(message.contains("does not match the certificate"), "\(message)")
    }

    @Test func refusesAHostTheCertificateDoesNotCover() throws {
        defer { temp.remove() }
        let root = try pki.makeCA("Test Root")
        let exact = try pki.makeLeaf(["app.example.com"], issuer: root)
        #expect(refusal { _ = try check("api.example.com", exact) }.contains("does not cover api.example.com"))
        #expect(refusal { _ = try check("*.example.com", exact) }.contains("does not cover *.example.com"))

        let wildcard = try pki.makeLeaf(["*.example.com"], issuer: root)
        #expect(try check("api.example.com", wildcard).host == "api.example.com")
        #expect(try check("*.example.com", wildcard).host == "*.example.com")
        #expect(refusal { _ = try check("a.b.example.com", wildcard) }.contains("does not cover"))
        #expect(refusal { _ = try check("example.com", wildcard) }.contains("does not cover"))

        let noNames = try pki.makeLeaf(["app.example.com"], issuer: root, subjectAltName: false)
        #expect(refusal { _ = try check("app.example.com", noNames) }.contains("no subjectAltName"))
        #expect(refusal { _ = try check("bad host!", exact) }.contains("invalid host"))
    }

    @Test func refusesExpiredAndNotYetValidCertificatesUnlessForced() throws {
        defer { temp.remove() }
        let root = try pki.makeCA("Test Root")
        let expired = try pki.makeLeaf(["app.example.com"], issuer: root, start: "20200101000000Z", end: "20200201000000Z")
        let message = refusal { _ = try check("app.example.com", expired) }
        #expect(message.contains("expired on 2020-02-01"), "\(message)")
        #expect(message.contains("--force"))
        let forced = try check("app.example.com", expired, force: true)
        #expect(forced.warnings.count == 1 && forced.warnings[0].contains("expired"))

        let future = try pki.makeLeaf(["app.example.com"], issuer: root, start: "20990101000000Z", end: "20991231000000Z")
        #expect(refusal { _ = try check("app.example.com", future) }.contains("not valid before 2099-01-01"))
        #expect(try check("app.example.com", future, force: true).warnings.count == 1)

        let valid = try pki.makeLeaf(["app.example.com"], issuer: root)
        let soon = try check("app.example.com", valid, now: Date().addingTimeInterval(80 * 86_400))
        #expect(soon.warnings.count == 1 && soon.warnings[0].contains("in less than 30 days"))
    }

    @Test func refusesAChainOutOfOrder() throws {
        defer { temp.remove() }
        let root = try pki.makeCA("Test Root")
        let intermediate = try pki.makeCA("Test Intermediate", issuer: root)
        let leaf = try pki.makeLeaf(["app.example.com"], issuer: intermediate)
        let stranger = try pki.makeCA("Stranger")
        let wrong = try pki.concatenate([leaf.cert, stranger.cert], to: "wrong.pem")
        #expect(refusal { _ = try check("app.example.com", TestPKI.Pair(cert: wrong, key: leaf.key)) }.contains("did not issue certificate 1"))
        let caFirst = try pki.concatenate([intermediate.cert, leaf.cert], to: "reversed.pem")
        #expect(refusal { _ = try check("app.example.com", TestPKI.Pair(cert: caFirst, key: intermediate.key)) }.contains("is a CA certificate"))
    }

    /// Each malformed input gets its own message, never a parser's stack of internals alone.
    @Test func refusesMalformedFilesWithOneClearMessageEach() throws {
        defer { temp.remove() }
        let root = try pki.makeCA("Test Root")
        let leaf = try pki.makeLeaf(["app.example.com"], issuer: root)
        let (cert, key) = (try bytes(leaf.cert), try bytes(leaf.key))
        try TestPKI.openssl(["x509", "-in", leaf.cert, "-outform", "der", "-out", temp.sub("cert.der")])
        let derCert = try bytes(temp.sub("cert.der"))
        try TestPKI.openssl(["pkey", "-in", leaf.key, "-outform", "der", "-out", temp.sub("key.der")])
        let derKey = try bytes(temp.sub("key.der"))
        try TestPKI.openssl(["pkey", "-in", leaf.key, "-aes256", "-passout", "pass:secret", "-out", temp.sub("key.enc")])
        let encrypted = try bytes(temp.sub("key.enc"))
        let garbage = Array("-----BEGIN CERTIFICATE-----\nnot base64 at all!!\n-----END CERTIFICATE-----\n".utf8)
        let prose = Array("this is not a certificate\n".utf8)
        let huge = [UInt8](repeating: 0x41, count: CertificateCheck.maxFileBytes + 1)

        let cases: [(cert: [UInt8], key: [UInt8], expected: String)] = [
            ([], key, "the --cert file is empty"),
            (Array("\n \n".utf8), key, "the --cert file is empty"),
            (cert, [], "the --key file is empty"),
            (derCert, key, "the --cert file is DER (binary), not PEM"),
            (cert, derKey, "the --key file is DER (binary), not PEM"),
            (garbage, key, "the --cert file is not valid PEM"),
            (prose, key, "the --cert file holds no PEM block"),
            (key, key, "the --cert file holds a private key, not a certificate"),
            (cert, cert, "the --key file holds a certificate, not a private key"),
            (cert, encrypted, "encrypted private key"),
            (huge, key, "the --cert file is larger than 1048576 bytes"),
            (cert, huge, "the --key file is larger than 1048576 bytes"),
        ]
        for (certBytes, keyBytes, expected) in cases {
            let message = refusal { _ = try CertificateCheck.check(host: "app.example.com", certificate: certBytes, key: keyBytes, force: true) }
            #expect(message.contains(expected), "expected '\(expected)', got '\(message)'")
            #expect(!message.contains("\n"), "one line: \(message)")
        }
    }
}
