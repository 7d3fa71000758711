import BatonTestSupport
import Foundation
import Glibc
import Testing

/// `baton deploy APP REGISTRY/REPO@sha256:…` (or `:TAG`): the daemon pulls what its store lacks
/// into its own store, then swaps, so it works the same when the CLI talks to a remote daemon.
@Suite(.serialized) struct RegistryDeployTests {
    @Test(.enabled(if: RegistryPushPullTests.ready, "requires root, docker-registry and skopeo"))
    func deployByDigestAndByTagPullsIntoTheDaemonsStoreThenSwaps() throws {
        let registry = try RegistryServer()
        defer { registry.stop() }
        // CI: a separate root publishes and pushes; the host's daemon only ever sees the registry.
        let ci = FileManager.default.temporaryDirectory.appendingPathComponent("baton-ci-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: ci) }
        try DeployFixture.publishBase(root: ci)
        try DeployFixture.publishSite("1", root: ci)
        try DeployFixture.publishSite("2", root: ci)
        let pushed1 = try RegistryCLI.baton(["artifact", "push", "site:1", "\(registry.host)/team/site", "--insecure"], root: ci)
        #expect(pushed1.status == 0, "\(pushed1.stderr)")
        let digest1 = RegistryCLI.lastLine(pushed1)
        let pushed2 = try RegistryCLI.baton(["artifact", "push", "site:2", "\(registry.host)/team/site:2", "--insecure"], root: ci)
        #expect(pushed2.status == 0, "\(pushed2.stderr)")
        let digest2 = RegistryCLI.lastLine(pushed2)

        let fixture = try DeployFixture()
        defer { fixture.finish() }
        // Without --insecure the daemon's pull refuses plain HTTP, and nothing is deployed.
        let refused = try fixture.baton(["deploy", "web", "\(registry.host)/team/site@\(digest1)"], allowFailure: true)
        #expect(refused.status != 0 && refused.stderr.contains("pass --insecure"), "\(refused.stderr)")

        let first = try fixture.baton(["deploy", "web", "\(registry.host)/team/site@\(digest1)", "--insecure"])
        #expect(first.stdout.contains(digest1), "\(first.stdout)")
        #expect(fixture.get("/")?.body == "v1\n")
        let byTag = try fixture.baton(["deploy", "web", "\(registry.host)/team/site:2", "--insecure"])
        #expect(byTag.stdout.contains(digest2), "\(byTag.stdout)")
        #expect(fixture.get("/")?.body == "v2\n")
        // Both are named in the daemon's store by digest, with their source recorded.
        let index = try String(contentsOfFile: fixture.root + "/store/index.json", encoding: .utf8)
        #expect(index.contains("team/site:sha256-\(digest1.dropFirst(7).prefix(12))"), "\(index)")
        #expect(index.contains("\(registry.host)/team/site:2@\(digest2)"), "\(index)")
        let history = try fixture.baton(["history", "web", "--json"])
        #expect(history.stdout.contains(digest1) && history.stdout.contains(digest2))
    }
}
