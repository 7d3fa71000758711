import BatonTestSupport
import Foundation
import Glibc
import Synchronization
import Testing

/// HTTPS end to end: `baton daemon --listen-tls` with the certificates of `baton cert`, reached
/// by curl and openssl s_client as any client would.
@Suite(.serialized, .enabled(if: geteuid() == 0, "requires root"))
struct HTTPSEndToEndTests {
    /// The HTTPS port from the daemon's ready line (`…, https on 127.0.0.1:PORT, …`).
    static func httpsPort(_ daemon: DaemonProcess) throws -> Int {
        guard let line = daemon.log.split(separator: "\n").first(where: { $0.hasPrefix("baton daemon: proxy on ") }),
            let range = line.range(of: "https on ")
        else { throw DaemonProcessError("no https address in the ready line: \(daemon.log)") }
        let address = line[range.upperBound...].prefix { $0 != "," }
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw DaemonProcessError("cannot read the https address: \(line)")
        }
        return port
    }

    static func curl(_ host: String, port: Int, path: String = "/", caFile: String, http2: Bool = false) throws -> (status: Int32, body: String, stderr: String) {
        let result = try TestPKI.runCapturing("/usr/bin/curl", [
            "--silent", "--show-error", "--max-time", "20", "--cacert", caFile, http2 ? "--http2" : "--http1.1",
            "--resolve", "\(host):\(port):127.0.0.1", "https://\(host):\(port)\(path)",
        ])
        return (result.status, result.stdout, result.stderr)
    }

    @discardableResult
    static func baton(_ root: String, _ arguments: [String]) throws -> BatonExecutable.Result {
        try DeployFixture.baton(arguments, root: root)
    }

    @Test func curlReachesAnUpstreamAppOverHTTPSWithAnAddedCertificate() async throws {
        let temp = TempDir(prefix: "baton-https")
        defer { temp.remove() }
        let pki = TestPKI(directory: temp.path)
        let ca = try pki.makeCA("Test Root")
        let leaf = try pki.makeLeaf(["app.example.com"], issuer: ca)
        let backend = try EchoBackend()
        defer { backend.stop() }
        let root = temp.sub("root")
        let daemon = try await offThePool { try DaemonProcess(root: root, extra: ["--listen-tls", "127.0.0.1:0"]) }
        defer { daemon.stop() }
        let port = try Self.httpsPort(daemon)
        try await offThePool {
            try Self.baton(root, ["app", "create", "web", "--host", "app.example.com", "--upstream", "127.0.0.1:\(backend.port)"])
            try Self.baton(root, ["cert", "add", "app.example.com", "--cert", leaf.cert, "--key", leaf.key])
        }
        let reply = try await offThePool { try Self.curl("app.example.com", port: port, path: "/over-tls", caFile: ca.cert) }
        #expect(reply.status == 0, "\(reply.stderr)")
        #expect(reply.body == "hello /over-tls")
        // A name with no certificate gets no handshake, and the daemon stays up.
        let refused = try await offThePool { try Self.curl("other.example.com", port: port, caFile: ca.cert) }
        #expect(refused.status != 0)
        #expect(try await offThePool { try Self.curl("app.example.com", port: port, caFile: ca.cert) }.status == 0)
    }

    /// `cert add` over a certificate while a client handshakes in a loop: no handshake fails,
    /// and the new certificate is the one served once the command returns.
    @Test func replacingACertificateUnderAHandshakeLoopFailsNoHandshake() async throws {
        let temp = TempDir(prefix: "baton-https")
        defer { temp.remove() }
        let pki = TestPKI(directory: temp.path)
        let ca = try pki.makeCA("Test Root")
        let leaves = try (0..<4).map { try pki.makeLeaf(["app.example.com"], issuer: ca, tag: "\($0)") }
        let prints = try leaves.map { try TestPKI.fingerprint($0.cert) }
        let root = temp.sub("root")
        let daemon = try await offThePool { try DaemonProcess(root: root, extra: ["--listen-tls", "127.0.0.1:0"]) }
        defer { daemon.stop() }
        let port = try Self.httpsPort(daemon)
        try await offThePool {
            try Self.baton(root, ["app", "create", "web", "--host", "app.example.com", "--upstream", "127.0.0.1:9"])
            try Self.baton(root, ["cert", "add", "app.example.com", "--cert", leaves[0].cert, "--key", leaves[0].key])
        }
        let stop = Atomic<Bool>(false)
        let directory = temp.path
        let loop = Task {
            try await offThePool { () -> [SClient.Handshake] in
                var seen: [SClient.Handshake] = []
                while !stop.load(ordering: .acquiring) || seen.count < 10 {
                    seen.append(try SClient.handshake(port: port, serverName: "app.example.com", caFile: ca.cert, directory: directory))
                }
                return seen
            }
        }
        for index in 1..<leaves.count {
            _ = try await offThePool { try Self.baton(root, ["cert", "add", "app.example.com", "--cert", leaves[index].cert, "--key", leaves[index].key]) }
            let now = try await offThePool { try SClient.handshake(port: port, serverName: "app.example.com", caFile: ca.cert, directory: directory) }
            #expect(now.fingerprint == prints[index], "the new certificate is served at once")
        }
        stop.store(true, ordering: .releasing)
        let seen = try await loop.value
        #expect(seen.allSatisfy { $0.verified && prints.contains($0.fingerprint ?? "") }, "\(seen.filter { !$0.verified }.map(\.output))")
    }

    /// `--local-ca`: an app's host and a preview's get certificates the CA that `baton cert ca`
    /// prints vouches for; a name no route serves gets none.
    @Test func theLocalCAIssuesForAnAppAndAPreviewTrustedThroughCertCA() async throws {
        let fixture = try DeployFixture(daemonArguments: ["--listen-tls", "127.0.0.1:0", "--local-ca"])
        defer { fixture.finish() }
        let temp = TempDir(prefix: "baton-https")
        defer { temp.remove() }
        try fixture.publishSite("1")
        try fixture.baton(["deploy", "web", "site:1"])
        try fixture.baton(["preview", "create", "pr-1", "site:1"])
        let port = try Self.httpsPort(fixture.daemon)
        let caFile = temp.sub("ca.pem")
        try fixture.baton(["cert", "ca"]).stdout.write(toFile: caFile, atomically: true, encoding: .utf8)

        let app = try await offThePool { try Self.curl(DeployFixture.host, port: port, caFile: caFile) }
        #expect(app.status == 0 && app.body == "v1\n", "\(app.stderr)")
        let preview = try await offThePool { try Self.curl("pr-1.preview.localhost", port: port, caFile: caFile) }
        #expect(preview.status == 0 && preview.body == "v1\n", "\(preview.stderr)")
        let unknown = try await offThePool { try Self.curl("unknown.test", port: port, caFile: caFile) }
        #expect(unknown.status != 0)

        let listed = try fixture.baton(["cert", "ls", "--json"]).stdout
        #expect(listed.contains("\"*.preview.localhost\"") && listed.contains("\"\(DeployFixture.host)\""), "\(listed)")
        #expect(listed.contains("\"local-ca\""))
        #expect(!listed.contains("unknown.test"))
        try fixture.baton(["preview", "rm", "pr-1"])
    }
}
