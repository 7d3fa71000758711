import BatonProxy
import BatonTestSupport
import Foundation
import NIOCore
import NIOSSL

/// A CA of the test's own and certificates it issued (`TestPKI`, the real `openssl`) in a
/// temp directory: `app.test`, `*.wild.test` and `default.test` (the one a hello without SNI
/// gets, when the test wants one). Clients trust `caFile`.
struct TestCertificates: Sendable {
    let directory: TempDir
    let caFile: String
    private let leaves: [String: TestPKI.Pair]

    static let names = ["app.test", "*.wild.test", "default.test"]

    static func make() async throws -> TestCertificates {
        let directory = TempDir(prefix: "baton-certs")
        // openssl runs off the cooperative pool: the proxy under test needs its threads.
        let (ca, leaves) = try await offThePool { () throws -> (TestPKI.Pair, [String: TestPKI.Pair]) in
            let pki = TestPKI(directory: directory.path)
            let ca = try pki.makeCA("Baton Test CA")
            var leaves: [String: TestPKI.Pair] = [:]
            for name in names { leaves[name] = try pki.makeLeaf([name], issuer: ca) }
            return (ca, leaves)
        }
        return TestCertificates(directory: directory, caFile: ca.cert, leaves: leaves)
    }

    /// The server context for `name`, made the way the daemon makes each one.
    func context(_ name: String) throws -> NIOSSLContext {
        let leaf = leaves[name]!
        return try ProxyTLS.serverContext(
            certificateChain: NIOSSLCertificate.fromPEMFile(leaf.cert), privateKey: NIOSSLPrivateKey(file: leaf.key, format: .pem))
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
