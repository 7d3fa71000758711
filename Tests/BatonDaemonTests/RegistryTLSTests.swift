import BatonTestSupport
import Foundation
import Glibc
import Testing

/// A registry on HTTPS whose certificate comes from a private CA: refused until the operator
/// puts the CA in `$BATON_ROOT/certs.d/HOST:PORT/ca.crt`, then pushed to and pulled from
/// over TLS, never falling back to plain HTTP.
@Suite(.serialized) struct RegistryTLSTests {
    /// A CA and a certificate it signed for 127.0.0.1, made with openssl in `directory`.
    static func certificates(in directory: String) throws -> (authority: String, certificate: String, key: String) {
        try "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            .write(toFile: directory + "/server.ext", atomically: true, encoding: .utf8)
        for command in [
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=baton test CA"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "2",
             "-extfile", "server.ext"],
        ] {
            let made = try RegistryCLI.program("/usr/bin/openssl", command.map { $0.hasSuffix(".key") || $0.hasSuffix(".crt") || $0.hasSuffix(".csr") || $0.hasSuffix(".ext") ? directory + "/" + $0 : $0 })
            guard made.status == 0 else { throw DaemonProcessError("openssl \(command[0]) failed: \(made.stderr)") }
        }
        return (directory + "/ca.crt", directory + "/server.crt", directory + "/server.key")
    }

    @Test(.enabled(if: RegistryPushPullTests.ready && FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"),
                   "requires root, docker-registry, skopeo and openssl"))
    func aPrivateCAsRegistryIsRefusedUntilItsCAIsInCertsDThenUsedOverTLS() throws {
        let keys = FileManager.default.temporaryDirectory.appendingPathComponent("baton-tls-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: keys) }
        let tls = try Self.certificates(in: keys)
        let registry = try RegistryServer(tls: (tls.certificate, tls.key))
        defer { registry.stop() }
        let root = try RegistryPushPullTests.rootWithApps([1])
        defer { try? FileManager.default.removeItem(atPath: root) }

        // The system's roots do not know this CA: one line, nothing sent.
        let refused = try RegistryCLI.baton(["artifact", "push", "app:1", "\(registry.host)/team/app:1"], root: root)
        #expect(refused.status != 0 && refused.stderr.hasPrefix("error: ") && refused.stderr.contains("TLS handshake failed"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: registry.storage + "/docker/registry/v2/repositories/team"))

        // Trusted for this registry: pushed and pulled over HTTPS (no --insecure anywhere).
        try FileManager.default.createDirectory(atPath: root + "/certs.d/\(registry.host)", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: tls.authority, toPath: root + "/certs.d/\(registry.host)/ca.crt")
        let pushed = try RegistryCLI.baton(["artifact", "push", "app:1", "\(registry.host)/team/app:1"], root: root)
        #expect(pushed.status == 0, "\(pushed.stderr)")
        let digest = RegistryCLI.lastLine(pushed)
        let pulled = try RegistryCLI.baton(["artifact", "pull", "\(registry.host)/team/app:1", "--as", "again:1"], root: root)
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(RegistryCLI.lastLine(pulled) == digest)
        // The registry saw TLS only: a plain-HTTP request would have been logged as such.
        #expect(!((try? String(contentsOfFile: registry.logPath, encoding: .utf8)) ?? "").contains("client sent an HTTP request to an HTTPS server"))
    }
}
