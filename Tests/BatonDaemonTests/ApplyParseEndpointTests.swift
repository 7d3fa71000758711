import BatonControl
import BatonDaemon
import BatonOS
import Foundation
import Testing

/// `POST /v1/apply/parse`: the daemon parses apps files for `baton apply`, so the CLI links
/// no YAML parser. What it answers must be what the parser gives, and mistakes stay one
/// located error.
@Suite(.serialized) struct ApplyParseEndpointTests {
    static let text = """
        apps:
          web:
            artifact: site:1
            hosts: [Web.Test]
            health: { path: /healthz, timeout: 5 }
            env: { B: "2", A: "x=y" }
          legacy:
            upstream: 127.0.0.1:9000
            hosts: [legacy.test]

        """

    @Test func aFileComesBackParsedInOrderWithItsLocations() async throws {
        try await DaemonFixture.with { fixture in
            let file = try await fixture.client.parseApplyFile(file: "baton.yml", text: Self.text)
            #expect(file.path == "baton.yml")
            #expect(file.apps.map(\.name) == ["web", "legacy"])
            #expect(file.apps[0].artifact == "site:1")
            #expect(file.apps[0].spec.hosts == ["web.test"])
            #expect(file.apps[0].spec.healthPath == "/healthz")
            #expect(file.apps[0].spec.healthTimeout == 5)
            #expect(file.apps[0].spec.env == ["A=x=y", "B=2"])
            #expect(file.apps[0].location == SourceLocation(file: "baton.yml", line: 2, column: 3))
            #expect(file.apps[0].artifactLocation == SourceLocation(file: "baton.yml", line: 3, column: 15))
            #expect(file.apps[1].spec.upstream == "127.0.0.1:9000")
            #expect(file.apps[1].artifact == nil)
        }
    }

    @Test func aMistakeIsOneLocatedInvalidArgument() async throws {
        try await DaemonFixture.with { fixture in
            let error = await #expect(throws: BatonError.self) {
                try await fixture.client.parseApplyFile(file: "x.yml", text: "apps:\n  web:\n    artifact: a:1\n    hosts: [w.test]\n    instances: 3\n")
            }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.hasPrefix("x.yml:5:5: unknown key 'instances'") == true, "\(error?.message ?? "")")
            let apps = try await fixture.client.listApps()
            #expect(apps.isEmpty)
        }
    }

    @Test func aBodyThatIsNotARequestIsRefused() async throws {
        try await DaemonFixture.with { fixture in
            let error = await #expect(throws: BatonError.self) {
                try await fixture.client.call("POST", "/v1/apply/parse", body: Data("apps: {}".utf8))
            }
            #expect(error?.code == .invalidArgument)
        }
    }

    /// Aliases used as mapping keys, each level naming the one before ten times: a few hundred
    /// bytes that expand to a hundred million nodes. The daemon refuses it at once, and the
    /// control API answers other clients meanwhile.
    @Test func anAliasBombIsOneQuickErrorAndTheControlAPIStaysResponsive() async throws {
        var lines = ["l0: &l0 [a, b, c, d, e, f, g, h]"]
        for level in 1...8 {
            let p = "*l\(level - 1)"
            lines.append("l\(level): &l\(level) {? \(p) : 1, ? [\(p)] : 2, ? [\(p), \(p)] : 3, ? [\(p), \(p), \(p)] : 4}")
        }
        lines.append("apps: {}")
        let bomb = lines.joined(separator: "\n") + "\n"
        try await DaemonFixture.with { fixture in
            let client = fixture.client
            let started = ContinuousClock.now
            async let refused: BatonError? = {
                do {
                    _ = try await client.parseApplyFile(file: "bomb.yml", text: bomb)
                    return nil
                } catch let error as BatonError {
                    return error
                }
            }()
            let listed = try await client.listApps()
            let listedAfter = ContinuousClock.now - started
            let error = try await refused
            #expect(ContinuousClock.now - started < .seconds(2))
            #expect(listed.isEmpty)
            #expect(listedAfter < .seconds(2))
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.hasPrefix("bomb.yml:") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("expands to more than 100000 nodes") == true)
        }
    }
}
