import BatonProxy
import BatonTestSupport
import Foundation
import NIOCore
import NIOSSL

/// A CA of the test's own and certificates it issued, made with the real `openssl` in a temp
/// directory: `app.test`, `*.wild.test` and `default.test` (the one a hello without SNI gets,
/// when the test wants one). Clients trust `caFile`.
struct TestCertificates: Sendable {
    let directory: TempDir
    var caFile: String { directory.sub("ca.crt") }

    static let names = ["app.test", "*.wild.test", "default.test"]

    static func make() async throws -> TestCertificates {
        let certificates = TestCertificates(directory: TempDir(prefix: "baton-certs"))
        try await certificates.openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", certificates.directory.sub("ca.key"), "-out", certificates.caFile, "-days", "2",
            "-subj", "/CN=Baton Test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
        for name in names {
            try await certificates.openssl([
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-CA", certificates.caFile, "-CAkey", certificates.directory.sub("ca.key"),
                "-keyout", certificates.keyFile(name), "-out", certificates.certificateFile(name), "-days", "2",
                "-subj", "/CN=\(name)", "-addext", "subjectAltName=DNS:\(name)",
                "-addext", "basicConstraints=critical,CA:FALSE", "-addext", "extendedKeyUsage=serverAuth",
            ])
        }
        return certificates
    }

    func certificateFile(_ name: String) -> String { directory.sub(name.replacingOccurrences(of: "*", with: "star") + ".crt") }
    func keyFile(_ name: String) -> String { directory.sub(name.replacingOccurrences(of: "*", with: "star") + ".key") }

    /// The server context for `name`, made the way the daemon makes each one.
    func context(_ name: String) throws -> NIOSSLContext {
        try ProxyTLS.serverContext(
            certificateChain: NIOSSLCertificate.fromPEMFile(certificateFile(name)),
            privateKey: NIOSSLPrivateKey(file: keyFile(name), format: .pem))
    }

    /// Certificates by SNI: exact names, then `*.` wildcards; a hello without SNI gets
    /// `default.test` with `fallback`, else nothing; one naming no host of ours, nothing (the
    /// handshake is refused), as the daemon's `--default-sni` does.
    func serverCertificates(fallback: Bool) throws -> FixedCertificates {
        var byName: [String: NIOSSLContext] = [:]
        for name in Self.names where name != "default.test" { byName[name] = try context(name) }
        return FixedCertificates(byName: byName, fallback: fallback ? try context("default.test") : nil)
    }

    func remove() { directory.remove() }

    private func openssl(_ arguments: [String]) async throws {
        let result = try await ClientTool.run(["/usr/bin/openssl"] + arguments)
        guard result.status == 0 else { throw TestFailure("openssl \(arguments.joined(separator: " ")): \(result.all)") }
    }
}

/// A fixed set of contexts, looked up as the daemon's store looks them up.
struct FixedCertificates: ServerCertificates {
    let byName: [String: NIOSSLContext]
    let fallback: NIOSSLContext?

    func context(forServerName serverName: String?, eventLoop: any EventLoop) -> EventLoopFuture<NIOSSLContext?> {
        guard let serverName else { return eventLoop.makeSucceededFuture(fallback) }
        if let exact = byName[serverName] { return eventLoop.makeSucceededFuture(exact) }
        if let dot = serverName.firstIndex(of: "."), let wildcard = byName["*" + serverName[dot...]] {
            return eventLoop.makeSucceededFuture(wildcard)
        }
        return eventLoop.makeSucceededFuture(nil)
    }
}
