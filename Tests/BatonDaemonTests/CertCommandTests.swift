import BatonControl
import BatonTestSupport
import Foundation
import Glibc
import Testing

/// `baton cert add|ls|rm|ca`, the real executable against a daemon on a private root, with
/// certificates made by openssl. Every bad input is one `error:` line and leaves the store
/// as it was.
@Suite(.serialized, .enabled(if: geteuid() == 0, "requires root"))
struct CertCommandTests {
    func baton(_ fixture: DaemonFixture, _ arguments: [String]) async throws -> BatonExecutable.Result {
        let root = fixture.root
        return try await offThePool { try BatonExecutable.run(arguments + ["--root", root]) }
    }

    func list(_ fixture: DaemonFixture) async throws -> [CertificateInfo] {
        let result = try await baton(fixture, ["cert", "ls", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        return try ControlJSON.decoder().decode([CertificateInfo].self, from: Data(result.stdout.utf8))
    }

    /// The names and bytes of every file under the root's tls/ directory.
    func storeContents(_ fixture: DaemonFixture) -> [String: Data] {
        var contents: [String: Data] = [:]
        let tls = fixture.root + "/tls"
        for path in (FileManager.default.subpaths(atPath: tls) ?? []) {
            contents[path] = FileManager.default.contents(atPath: tls + "/" + path) ?? Data()
        }
        return contents
    }

    func mode(_ path: String) -> mode_t {
        var info = stat()
        stat(path, &info)
        return info.st_mode & 0o7777
    }

    @Test func addListAndRemoveACertificate() async throws {
        let temp = TempDir(prefix: "baton-cert-cli")
        defer { temp.remove() }
        let pki = TestPKI(directory: temp.path)
        let root = try pki.makeCA("Test Root")
        let intermediate = try pki.makeCA("Test Intermediate", issuer: root)
        let leaf = try pki.makeLeaf(["app.example.com"], issuer: intermediate)
        let chain = try pki.concatenate([leaf.cert, intermediate.cert], to: "chain.pem")
        try await DaemonFixture.with { fixture in
            _ = try await fixture.client.createApp(AppSpec(name: "web", hosts: ["app.example.com"], upstream: "127.0.0.1:9"))
            let added = try await baton(fixture, ["cert", "add", "app.example.com", "--cert", chain, "--key", leaf.key])
            #expect(added.status == 0, "\(added.stderr)")
            #expect(added.stdout.contains("app.example.com  issuer CN=Test Intermediate  not after 20"), "\(added.stdout)")
            #expect(added.stderr.isEmpty, "\(added.stderr)")

            let table = try await baton(fixture, ["cert", "ls"])
            #expect(table.status == 0, "\(table.stderr)")
            #expect(table.stdout.hasPrefix("HOST"))
            #expect(table.stdout.contains("app.example.com") && table.stdout.contains("file"), "\(table.stdout)")
            let listed = try await list(fixture)
            #expect(listed.count == 1)
            #expect(listed.first?.host == "app.example.com")
            #expect(listed.first?.source == "file")
            #expect(listed.first?.issuer == "CN=Test Intermediate")
            #expect(listed.first?.fingerprint == (try TestPKI.fingerprint(leaf.cert)))
            let raw = try await baton(fixture, ["cert", "ls", "--json"])
            for key in ["\"host\"", "\"issuer\"", "\"not_after\"", "\"source\"", "\"fingerprint\"", "\"not_before\"", "\"subject\""] {
                #expect(raw.stdout.contains(key), "\(key) in \(raw.stdout)")
            }
            #expect(mode(fixture.root + "/tls/certs/app.example.com.pem") == 0o600)
            #expect(mode(fixture.root + "/tls/certs") == 0o700)
            #expect(mode(fixture.root + "/tls") == 0o700)

            // Kept across a restart.
            try await fixture.restart()
            #expect(try await list(fixture).map(\.host) == ["app.example.com"])

            // Adding again replaces it.
            let other = try pki.makeLeaf(["app.example.com"], issuer: root, tag: "again")
            let replaced = try await baton(fixture, ["cert", "add", "app.example.com", "--cert", other.cert, "--key", other.key])
            #expect(replaced.status == 0, "\(replaced.stderr)")
            #expect(try await list(fixture).first?.fingerprint == (try TestPKI.fingerprint(other.cert)))

            let removed = try await baton(fixture, ["cert", "rm", "app.example.com"])
            #expect(removed.status == 0, "\(removed.stderr)")
            #expect(try await list(fixture).isEmpty)
            #expect(!FileManager.default.fileExists(atPath: fixture.root + "/tls/certs/app.example.com.pem"))
            let again = try await baton(fixture, ["cert", "rm", "app.example.com"])
            #expect(again.status != 0)
            #expect(again.stderr == "error: no certificate for app.example.com: see 'baton cert ls'\n", "\(again.stderr)")
        }
    }

    @Test func aWildcardCertificateAndForcedAdditionsWarn() async throws {
        let temp = TempDir(prefix: "baton-cert-cli")
        defer { temp.remove() }
        let pki = TestPKI(directory: temp.path)
        let root = try pki.makeCA("Test Root")
        let wildcard = try pki.makeLeaf(["*.example.com"], issuer: root)
        let expired = try pki.makeLeaf(["old.example.com"], issuer: root, start: "20200101000000Z", end: "20200201000000Z")
        let unserved = try pki.makeLeaf(["later.example.com"], issuer: root)
        let soon = try pki.makeLeaf(["soon.example.com"], issuer: root, start: nil, end: Self.openSSLDate(Date().addingTimeInterval(5 * 86_400)))
        try await DaemonFixture.with { fixture in
            _ = try await fixture.client.createApp(AppSpec(name: "web", hosts: ["app.example.com", "old.example.com", "soon.example.com"], upstream: "127.0.0.1:9"))
            let added = try await baton(fixture, ["cert", "add", "*.example.com", "--cert", wildcard.cert, "--key", wildcard.key])
            #expect(added.status == 0, "\(added.stderr)")

            let forced = try await baton(fixture, ["cert", "add", "old.example.com", "--cert", expired.cert, "--key", expired.key, "--force"])
            #expect(forced.status == 0, "\(forced.stderr)")
            #expect(forced.stderr.hasPrefix("warning: the certificate expired on 2020-02-01"), "\(forced.stderr)")

            let early = try await baton(fixture, ["cert", "add", "later.example.com", "--cert", unserved.cert, "--key", unserved.key, "--force"])
            #expect(early.status == 0, "\(early.stderr)")
            #expect(early.stderr.contains("warning: no app serves later.example.com"), "\(early.stderr)")

            let ending = try await baton(fixture, ["cert", "add", "soon.example.com", "--cert", soon.cert, "--key", soon.key])
            #expect(ending.status == 0, "\(ending.stderr)")
            #expect(ending.stderr.contains("warning: the certificate expires on"), "\(ending.stderr)")

            #expect(try await list(fixture).map(\.host) == ["*.example.com", "later.example.com", "old.example.com", "soon.example.com"])
            let removed = try await baton(fixture, ["cert", "rm", "*.example.com"])
            #expect(removed.status == 0, "\(removed.stderr)")
        }
    }

    /// Each bad input: exit non-zero, exactly one `error:` line, and the store unchanged.
    @Test func badInputIsOneErrorLineAndChangesNothing() async throws {
        let temp = TempDir(prefix: "baton-cert-cli")
        defer { temp.remove() }
        let pki = TestPKI(directory: temp.path)
        let root = try pki.makeCA("Test Root")
        let good = try pki.makeLeaf(["app.example.com"], issuer: root)
        let other = try pki.makeLeaf(["app.example.com"], issuer: root, tag: "other")
        let expired = try pki.makeLeaf(["app.example.com"], issuer: root, start: "20200101000000Z", end: "20200201000000Z")
        let unserved = try pki.makeLeaf(["nobody.example.com"], issuer: root)
        try TestPKI.openssl(["x509", "-in", good.cert, "-outform", "der", "-out", temp.sub("cert.der")])
        try "not a certificate\n".write(toFile: temp.sub("garbage.pem"), atomically: true, encoding: .utf8)
        try "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n".write(toFile: temp.sub("broken.pem"), atomically: true, encoding: .utf8)
        try Data().write(to: URL(fileURLWithPath: temp.sub("empty.pem")))
        try Data(repeating: 0x41, count: (1 << 20) + 1).write(to: URL(fileURLWithPath: temp.sub("huge.pem")))

        let cases: [(arguments: [String], expected: String)] = [
            (["app.example.com", "--cert", temp.sub("garbage.pem"), "--key", good.key], "holds no PEM block"),
            (["app.example.com", "--cert", temp.sub("broken.pem"), "--key", good.key], "is not valid PEM"),
            (["app.example.com", "--cert", temp.sub("cert.der"), "--key", good.key], "is DER (binary), not PEM"),
            (["app.example.com", "--cert", temp.sub("empty.pem"), "--key", good.key], "the --cert file is empty"),
            (["app.example.com", "--cert", good.key, "--key", good.key], "holds a private key, not a certificate"),
            (["app.example.com", "--cert", good.cert, "--key", good.cert], "holds a certificate, not a private key"),
            (["app.example.com", "--cert", good.cert, "--key", other.key], "does not match the certificate"),
            (["app.example.com", "--cert", expired.cert, "--key", expired.key], "expired on 2020-02-01"),
            (["nobody.example.com", "--cert", unserved.cert, "--key", unserved.key], "no app serves nobody.example.com: create the app first"),
            (["www.example.com", "--cert", good.cert, "--key", good.key], "does not cover www.example.com"),
            (["app.example.com", "--cert", temp.sub("huge.pem"), "--key", good.key], "larger than 1048576 bytes"),
            (["app.example.com", "--cert", temp.sub("missing.pem"), "--key", good.key], "cannot read --cert"),
            (["app.example.com", "--cert", temp.path, "--key", good.key], "is not a regular file"),
            (["bad host", "--cert", good.cert, "--key", good.key], "invalid host 'bad host'"),
        ]
        try await DaemonFixture.with { fixture in
            _ = try await fixture.client.createApp(AppSpec(name: "web", hosts: ["app.example.com", "www.example.com"], upstream: "127.0.0.1:9"))
            let first = try await baton(fixture, ["cert", "add", "app.example.com", "--cert", good.cert, "--key", good.key])
            #expect(first.status == 0, "\(first.stderr)")
            let before = storeContents(fixture)
            let listed = try await list(fixture)
            for (arguments, expected) in cases {
                let result = try await baton(fixture, ["cert", "add"] + arguments)
                #expect(result.status != 0, "\(arguments) was accepted")
                let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
                #expect(lines.count == 1 && lines.first?.hasPrefix("error: ") == true, "one error line for \(arguments): \(result.stderr)")
                #expect(result.stderr.contains(expected), "expected '\(expected)': \(result.stderr)")
                #expect(result.stdout.isEmpty)
            }
            #expect(storeContents(fixture) == before, "nothing stored or removed")
            #expect(try await list(fixture) == listed)
            let noCA = try await baton(fixture, ["cert", "ca"])
            #expect(noCA.status != 0)
            #expect(noCA.stderr == "error: the daemon runs without a local CA: start it with 'baton daemon --local-ca'\n", "\(noCA.stderr)")
        }
    }

    @Test func certCAPrintsTheLocalCAToTrust() async throws {
        let temp = TempDir(prefix: "baton-cert-cli")
        defer { temp.remove() }
        try await DaemonFixture.with(configure: { $0.localCA = true }) { fixture in
            let printed = try await baton(fixture, ["cert", "ca"])
            #expect(printed.status == 0, "\(printed.stderr)")
            #expect(printed.stdout.hasPrefix("-----BEGIN CERTIFICATE-----\n"))
            #expect(printed.stdout.hasSuffix("-----END CERTIFICATE-----\n"))
            #expect(!printed.stdout.contains("PRIVATE"))
            let path = temp.sub("ca.pem")
            try printed.stdout.write(toFile: path, atomically: true, encoding: .utf8)
            let text = try TestPKI.openssl(["x509", "-in", path, "-noout", "-subject", "-ext", "basicConstraints"])
            #expect(text.contains("Baton local CA") && text.contains("CA:TRUE"), "\(text)")
            #expect(mode(fixture.root + "/tls/local-ca/ca.pem") == 0o600)
            // The same CA after a restart: clients trust it once.
            try await fixture.restart()
            #expect(try await baton(fixture, ["cert", "ca"]).stdout == printed.stdout)
        }
    }

    /// Over `baton --host ssh://…` the files are read on the operator's side and checked by
    /// the remote daemon, as any daemon command.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/sbin/sshd"), "requires openssh-server"))
    func certCommandsWorkOverSSH() async throws {
        let temp = TempDir(prefix: "baton-cert-ssh")
        defer { temp.remove() }
        let pki = TestPKI(directory: temp.path)
        let ca = try pki.makeCA("Test Root")
        let leaf = try pki.makeLeaf(["app.example.com"], issuer: ca)
        let root = temp.sub("remote-root")
        let daemon = try await offThePool { try DaemonProcess(root: root, extra: ["--local-ca"]) }
        defer { daemon.stop() }
        let ssh = try TestSSHServer()
        defer { ssh.stop() }
        try ssh.installBaton()
        let (url, environment) = (ssh.url, ssh.environment())
        let remote = { @Sendable (arguments: [String]) throws -> BatonExecutable.Result in
            try BatonExecutable.run(["--host", url] + arguments + ["--root", root], prefix: environment)
        }
        try await offThePool {
            _ = try DeployFixture.baton(["app", "create", "web", "--host", "app.example.com", "--upstream", "127.0.0.1:9"], root: root)
            let added = try remote(["cert", "add", "app.example.com", "--cert", leaf.cert, "--key", leaf.key])
            #expect(added.status == 0, "\(added.stderr)")
            let listed = try remote(["cert", "ls", "--json"])
            #expect(listed.stdout.contains("\"app.example.com\""), "\(listed.stderr)")
            let authority = try remote(["cert", "ca"])
            #expect(authority.stdout.hasPrefix("-----BEGIN CERTIFICATE-----"), "\(authority.stderr)")
            let refused = try remote(["cert", "add", "app.example.com", "--cert", leaf.key, "--key", leaf.key])
            #expect(refused.status != 0 && refused.stderr.hasPrefix("error: the --cert file holds a private key"), "\(refused.stderr)")
            let removed = try remote(["cert", "rm", "app.example.com"])
            #expect(removed.status == 0, "\(removed.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: root + "/tls/certs/app.example.com.pem"))
    }

    @Test(arguments: [
        (["--listen-tls", "nowhere"], "error: invalid --listen-tls 'nowhere': use ADDR:PORT"),
        (["--listen-tls", "127.0.0.1:70000"], "error: invalid --listen-tls '127.0.0.1:70000'"),
        (["--default-sni", "*.example.com"], "error: invalid --default-sni '*.example.com'"),
        (["--default-sni", "bad host"], "error: invalid --default-sni 'bad host'"),
    ])
    func badTLSFlagsAreOneErrorLine(_ flags: [String], _ expected: String) async throws {
        let result = try await offThePool { try BatonExecutable.run(["daemon"] + flags) }
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix(expected), "\(result.stderr)")
    }

    /// `baton` starts every sandbox: the TLS libraries stay in baton-daemon.
    @Test func theCLILinksNoTLSLibrary() throws {
        let symbols = try TestPKI.run("/usr/bin/nm", ["--defined-only", BatonExecutable.path])
        #expect(!symbols.isEmpty)
        // Swift symbols start `$s` and the length-prefixed name of their module.
        #expect(symbols.contains("$s8BatonCLI"), "the check reads Swift symbols")
        for module in ["6NIOSSL", "4X509", "9SwiftASN1", "7NIOCore", "8BatonTLS"] {
            #expect(!symbols.contains("$s" + module), "baton links \(module)")
        }
    }

    static func openSSLDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMddHHmmss'Z'"
        return formatter.string(from: date)
    }
}
