import BatonOS
import BatonProxy
import BatonTestSupport
import BatonTLS
import Foundation
import Glibc
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import Testing

/// The certificates the HTTPS listener serves, seen as a client sees them: real handshakes
/// with `openssl s_client` against a server that asks the resolver for each hello's context.
@Suite struct CertificateResolverTests {
    let temp = TempDir(prefix: "baton-tls-resolver")
    var pki: TestPKI { TestPKI(directory: temp.path) }
    var store: CertificateStore { CertificateStore(root: temp.path) }

    func routes(_ hosts: [String]) -> RouteTable {
        RouteTable(hosts.map { ($0, Route(app: "app", target: nil)) })
    }

    func resolver(issuer: (any CertificateIssuer)? = nil, hosts: [String] = [], defaultName: String? = nil,
                  clock: Clock = Clock()) -> CertificateResolver {
        let table = routes(hosts)
        var configuration = CertificateResolver.Configuration(
            store: store, issuer: issuer, servedNames: ServedNames(previewDomain: "preview.localhost"),
            routes: { table }, defaultServerName: defaultName)
        configuration.now = { clock.now }
        return CertificateResolver(configuration)
    }

    func add(_ resolver: CertificateResolver, _ host: String, _ pair: TestPKI.Pair) throws -> CertificateRecord {
        let certificate = Array(try Data(contentsOf: URL(fileURLWithPath: pair.cert)))
        let key = Array(try Data(contentsOf: URL(fileURLWithPath: pair.key)))
        return try resolver.add(CertificateCheck.check(host: host, certificate: certificate, key: key, force: false))
    }

    func mode(_ path: String) -> mode_t {
        var info = stat()
        stat(path, &info)
        return info.st_mode & 0o7777
    }

    func handshake(_ server: TLSTestServer, _ name: String?, trusting ca: String) async throws -> SClient.Handshake {
        let directory = temp.path
        let port = server.port
        return try await offLoop { try SClient.handshake(port: port, serverName: name, caFile: ca, directory: directory) }
    }

    @Test func choosesTheExactNameThenTheWildcardOneLabelUpThenNothing() async throws {
        defer { temp.remove() }
        let root = try pki.makeCA("Test Root")
        let exact = try pki.makeLeaf(["a.example.com"], issuer: root)
        let wildcard = try pki.makeLeaf(["*.example.com"], issuer: root)
        let certificates = resolver()
        _ = try add(certificates, "a.example.com", exact)
        _ = try add(certificates, "*.example.com", wildcard)
        let server = try await TLSTestServer(certificates: certificates)
        defer { Task { await server.stop() } }

        let a = try await handshake(server, "a.example.com", trusting: root.cert)
        #expect(a.verified, "\(a.output)")
        #expect(a.fingerprint == (try TestPKI.fingerprint(exact.cert)))
        let b = try await handshake(server, "b.example.com", trusting: root.cert)
        #expect(b.verified)
        #expect(b.fingerprint == (try TestPKI.fingerprint(wildcard.cert)))
        for refused in ["x.b.example.com", "example.org", nil] as [String?] {
            let attempt = try await handshake(server, refused, trusting: root.cert)
            #expect(!attempt.verified && attempt.fingerprint == nil, "\(refused ?? "no SNI") must get no certificate")
        }
    }

    @Test(arguments: [TestPKI.KeyType.ecP256, .ecP384, .rsa2048, .ed25519])
    func eachKeyTypeServesARealHandshake(_ keyType: TestPKI.KeyType) async throws {
        defer { temp.remove() }
        let root = try pki.makeCA("Test Root")
        let leaf = try pki.makeLeaf(["a.example.com"], issuer: root, keyType: keyType)
        let certificates = resolver()
        _ = try add(certificates, "a.example.com", leaf)
        let server = try await TLSTestServer(certificates: certificates)
        defer { Task { await server.stop() } }
        let attempt = try await handshake(server, "a.example.com", trusting: root.cert)
        #expect(attempt.verified, "\(attempt.output)")
        #expect(attempt.fingerprint == (try TestPKI.fingerprint(leaf.cert)))
    }

    @Test func aHelloWithoutSNIGetsTheDefaultHostsCertificate() async throws {
        defer { temp.remove() }
        let root = try pki.makeCA("Test Root")
        let leaf = try pki.makeLeaf(["a.example.com"], issuer: root)
        let certificates = resolver(defaultName: "a.example.com")
        _ = try add(certificates, "a.example.com", leaf)
        let server = try await TLSTestServer(certificates: certificates)
        defer { Task { await server.stop() } }
        let attempt = try await handshake(server, nil, trusting: root.cert)
        #expect(attempt.fingerprint == (try TestPKI.fingerprint(leaf.cert)), "\(attempt.output)")
    }

    @Test func theLocalCAIssuesForServedHostsAndPreviewsAndNothingElse() async throws {
        defer { temp.remove() }
        let authority = try LocalCA.loadOrCreate(store: store)
        let ca = temp.sub("local-ca.pem")
        try authority.certificatePEM.write(toFile: ca, atomically: true, encoding: .utf8)
        let certificates = resolver(issuer: authority, hosts: ["app.example.com", "pr-1.preview.localhost", "*.wild.example.com"])
        let server = try await TLSTestServer(certificates: certificates)
        defer { Task { await server.stop() } }

        for name in ["app.example.com", "pr-1.preview.localhost", "x.wild.example.com"] {
            let attempt = try await handshake(server, name, trusting: ca)
            #expect(attempt.verified, "\(name): \(attempt.output)")
        }
        // Names no route serves: a client must not make the daemon sign whatever it names.
        for name in ["unknown.example.com", "a.b.wild.example.com", "pr-2.preview.localhost"] {
            let attempt = try await handshake(server, name, trusting: ca)
            #expect(attempt.fingerprint == nil, "\(name) must get no certificate")
        }
        #expect(certificates.records.map(\.host) == ["*.preview.localhost", "*.wild.example.com", "app.example.com"])
        #expect(certificates.records.allSatisfy { $0.source == .localCA })
        let issued = try DirectoryListing.names(temp.sub("tls/local-ca/issued"))
        #expect(issued == ["*.preview.localhost.pem", "*.wild.example.com.pem", "app.example.com.pem"])
        for file in issued { #expect(mode(temp.sub("tls/local-ca/issued/" + file)) == 0o600) }
    }

    @Test func concurrentHellosForANewHostIssueOnce() async throws {
        defer { temp.remove() }
        let issuer = CountingIssuer(try LocalCA.loadOrCreate(store: store))
        let certificates = resolver(issuer: issuer, hosts: ["app.example.com"])
        let group = MultiThreadedEventLoopGroup.singleton
        let contexts = try await withThrowingTaskGroup(of: NIOSSLContext?.self) { tasks in
            for _ in 0..<32 {
                tasks.addTask { try await certificates.context(forServerName: "app.example.com", eventLoop: group.next()).get() }
            }
            return try await tasks.reduce(into: []) { $0.append($1) }
        }
        #expect(issuer.count == 1)
        let first = try #require(contexts.first ?? nil)
        #expect(contexts.allSatisfy { $0 === first })
    }

    @Test func issuedCertificatesAreReusedAfterARestart() async throws {
        defer { temp.remove() }
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let first = resolver(issuer: try LocalCA.loadOrCreate(store: store), hosts: ["app.example.com"])
        #expect(try await first.context(forServerName: "app.example.com", eventLoop: loop).get() != nil)
        let fingerprint = first.records.first?.fingerprint

        let issuer = CountingIssuer(try LocalCA.loadOrCreate(store: store))
        let restarted = resolver(issuer: issuer, hosts: ["app.example.com"])
        #expect(restarted.load().isEmpty)
        #expect(try await restarted.context(forServerName: "app.example.com", eventLoop: loop).get() != nil)
        #expect(issuer.count == 0)
        #expect(restarted.records.first?.fingerprint == fingerprint)
    }

    @Test func renewsWithAThirdLeftAndReissuesWhenExpired() async throws {
        defer { temp.remove() }
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let clock = Clock()
        let issuer = CountingIssuer(try LocalCA.loadOrCreate(store: store), clock: clock)
        let certificates = resolver(issuer: issuer, hosts: ["app.example.com"], clock: clock)
        let served = try await certificates.context(forServerName: "app.example.com", eventLoop: loop).get()
        let first = certificates.records[0]

        clock.advance(by: 4 * 86_400)
        #expect(try await certificates.context(forServerName: "app.example.com", eventLoop: loop).get() === served)
        #expect(issuer.count == 1)

        // Past the renewal date the old one is still served while its successor is issued.
        clock.advance(by: 1.5 * 86_400)
        #expect(try await certificates.context(forServerName: "app.example.com", eventLoop: loop).get() != nil)
        try await waitUntil { certificates.records[0].fingerprint != first.fingerprint }
        #expect(issuer.count == 2)
        #expect(certificates.records[0].notAfter > first.notAfter)

        // After the end (a daemon stopped for weeks) the hello waits for a new one.
        clock.advance(by: 30 * 86_400)
        let renewed = certificates.records[0]
        #expect(try await certificates.context(forServerName: "app.example.com", eventLoop: loop).get() != nil)
        #expect(issuer.count == 3)
        #expect(certificates.records[0].fingerprint != renewed.fingerprint)
    }

    /// The daemon stops its event loops only after the issues under way have answered them.
    @Test func stoppingWaitsForIssuesUnderWayAndStartsNoMore() async throws {
        defer { temp.remove() }
        let issuer = CountingIssuer(try LocalCA.loadOrCreate(store: store))
        let certificates = resolver(issuer: issuer, hosts: ["a.example.com", "b.example.com"])
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let underWay = certificates.context(forServerName: "a.example.com", eventLoop: loop)
        await certificates.stopIssuing()
        #expect(issuer.count == 1)
        #expect(try await underWay.get() != nil)
        #expect(try await certificates.context(forServerName: "b.example.com", eventLoop: loop).get() == nil)
        #expect(issuer.count == 1)
    }

    /// Replaced while a client handshakes over and over: every handshake succeeds with the old
    /// certificate or the new one, and the new one is served once the add returns.
    @Test func replacingACertificateTakesEffectAtOnceWithNoFailedHandshake() async throws {
        defer { temp.remove() }
        let root = try pki.makeCA("Test Root")
        let one = try pki.makeLeaf(["app.example.com"], issuer: root, tag: "one")
        let two = try pki.makeLeaf(["app.example.com"], issuer: root, tag: "two")
        let prints = [try TestPKI.fingerprint(one.cert), try TestPKI.fingerprint(two.cert)]
        let certificates = resolver(hosts: ["app.example.com"])
        _ = try add(certificates, "app.example.com", one)
        let server = try await TLSTestServer(certificates: certificates)
        defer { Task { await server.stop() } }

        let (port, directory) = (server.port, temp.path)
        let stop = Atomic<Bool>(false)
        let handshakes = Task {
            try await offLoop { () -> [SClient.Handshake] in
                var seen: [SClient.Handshake] = []
                while !stop.load(ordering: .acquiring) || seen.count < 5 {
                    seen.append(try SClient.handshake(port: port, serverName: "app.example.com", caFile: root.cert, directory: directory))
                }
                return seen
            }
        }
        for round in 0..<8 {
            let pair = round % 2 == 0 ? two : one
            _ = try add(certificates, "app.example.com", pair)
            let now = try await handshake(server, "app.example.com", trusting: root.cert)
            #expect(now.fingerprint == prints[round % 2 == 0 ? 1 : 0], "the certificate added is served from the next handshake")
            try await Task.sleep(for: .milliseconds(20))
        }
        stop.store(true, ordering: .releasing)
        let seen = try await handshakes.value
        #expect(seen.allSatisfy { $0.verified && prints.contains($0.fingerprint ?? "") }, "\(seen.filter { !$0.verified }.map(\.output))")

        let path = temp.sub("tls/certs/app.example.com.pem")
        #expect(mode(path) == 0o600)
        #expect(mode(temp.sub("tls/certs")) == 0o700)
        #expect(try DirectoryListing.names(temp.sub("tls/certs")) == ["app.example.com.pem"], "no temporary file left")
    }

    @Test func removingStopsServingAndLoadSkipsWhatCannotBeRead() async throws {
        defer { temp.remove() }
        let root = try pki.makeCA("Test Root")
        let certificates = resolver()
        _ = try add(certificates, "a.example.com", try pki.makeLeaf(["a.example.com"], issuer: root))
        _ = try add(certificates, "b.example.com", try pki.makeLeaf(["b.example.com"], issuer: root))
        #expect(try certificates.remove(host: "a.example.com"))
        #expect(try !certificates.remove(host: "a.example.com"))
        #expect(!FileManager.default.fileExists(atPath: temp.sub("tls/certs/a.example.com.pem")))
        try "-----BEGIN CERTIFICATE-----\ngarbage\n".write(toFile: temp.sub("tls/certs/c.example.com.pem"), atomically: true, encoding: .utf8)
        try "left by a crash".write(toFile: temp.sub("tls/certs/d.example.com.pem.tmp-1234"), atomically: true, encoding: .utf8)

        let restarted = resolver()
        let problems = restarted.load()
        #expect(problems.count == 1 && problems[0].contains("c.example.com.pem"), "\(problems)")
        #expect(restarted.records.map(\.host) == ["b.example.com"])
        #expect(!FileManager.default.fileExists(atPath: temp.sub("tls/certs/d.example.com.pem.tmp-1234")))
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        #expect(try await restarted.context(forServerName: "a.example.com", eventLoop: loop).get() == nil)
        #expect(try await restarted.context(forServerName: "b.example.com", eventLoop: loop).get() != nil)
    }
}

/// The test's clock, moved by hand.
final class Clock: Sendable {
    private let offset = Mutex<TimeInterval>(0)
    var now: Date { Date().addingTimeInterval(offset.withLock { $0 }) }
    func advance(by seconds: TimeInterval) { offset.withLock { $0 += seconds } }
}

/// The local CA, counting what it issues, on the test's clock.
final class CountingIssuer: CertificateIssuer {
    let base: LocalCA
    let clock: Clock
    private let issues = Atomic<Int>(0)
    var count: Int { issues.load(ordering: .acquiring) }

    init(_ base: LocalCA, clock: Clock = Clock()) {
        self.base = base
        self.clock = clock
    }

    var source: CertificateSource { base.source }

    func issue(for name: String, now: Date) throws -> CertificateMaterial {
        issues.add(1, ordering: .acquiringAndReleasing)
        // Slower than a real issue, so the concurrent hellos surely overlap it.
        usleep(100_000)
        return try base.issue(for: name, now: clock.now)
    }

    func issued(_ material: CertificateMaterial) -> Bool { base.issued(material) }
    func renewalDate(of material: CertificateMaterial) -> Date { base.renewalDate(of: material) }
}

/// Blocking work (child processes) on a thread of its own, off the cooperative pool.
func offLoop<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}

/// Polls `condition` until it holds; fails after a generous bound (a hang, not a speed check).
func waitUntil(_ condition: @Sendable () -> Bool) async throws {
    for _ in 0..<1000 where !condition() {
        try await Task.sleep(for: .milliseconds(10))
    }
    #expect(condition())
}
