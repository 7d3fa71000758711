import Foundation
import Glibc
import Testing

/// Previews end to end: a real daemon, real sandboxes, requests through the proxy by host.
@Suite(.serialized, .enabled(if: geteuid() == 0, "requires root"))
struct PreviewTests {
    static let host = "pr-1.preview.localhost"

    private func fetch(_ fixture: DeployFixture, host: String = Self.host) -> (status: Int, body: String)? {
        HTTPGet.fetch(port: fixture.daemon.port, host: host, path: "/")
    }

    private func jsonArray(_ text: String) throws -> [[String: Any]] {
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] ?? []
    }

    @Test func createServesListsSwapsAndRemoves() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        try fixture.publishSite("2")

        let created = try fixture.baton(["preview", "create", "pr-1", "site:1"])
        // With the port the proxy really listens on: a URL that can be pasted as it is.
        #expect(created.stdout.hasSuffix("\nhttp://\(Self.host):\(fixture.daemon.port)/\n"), "\(created.stdout)")
        #expect(fetch(fixture)?.body == "v1\n")

        let list = try jsonArray(try fixture.baton(["preview", "ls", "--json"]).stdout)
        #expect(list.count == 1)
        let preview = list.first ?? [:]
        for key in ["name", "host", "artifact", "digest", "expires_at", "created_at"] {
            #expect(preview.keys.contains(key), "preview ls --json lacks \(key): \(preview)")
        }
        #expect(preview["name"] as? String == "pr-1")
        #expect(preview["host"] as? String == Self.host)
        #expect(preview["artifact"] as? String == "site:1")
        #expect((preview["digest"] as? String)?.hasPrefix("sha256:") == true)
        #expect(preview["expires_at"] is NSNull)

        try fixture.baton(["preview", "create", "pr-1", "site:2"])
        #expect(fetch(fixture)?.body == "v2\n")
        let history = try jsonArray(try fixture.baton(["history", "pr-1", "--json"]).stdout)
        #expect(history.filter { $0["outcome"] as? String == "succeeded" }.count == 2, "\(history)")
        let table = try fixture.baton(["preview", "ls"]).stdout
        #expect(table.contains("pr-1") && table.contains("site:2") && table.contains("never"), "\(table)")

        try fixture.baton(["preview", "rm", "pr-1"])
        #expect(fetch(fixture)?.status == 404)
        let ps = try jsonArray(try fixture.baton(["ps", "--json"]).stdout)
        #expect(ps.filter { $0["app"] as? String == "pr-1" }.isEmpty, "\(ps)")
        #expect(try jsonArray(try fixture.baton(["preview", "ls", "--json"]).stdout).isEmpty)
        let again = try fixture.baton(["preview", "rm", "pr-1"], allowFailure: true)
        #expect(again.status != 0 && again.stderr.hasPrefix("error: no preview named pr-1"), "\(again.stderr)")
    }

    @Test func anExpiredPreviewIsRemovedByTheDaemon() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        try fixture.baton(["preview", "create", "pr-1", "site:1", "--ttl", "2"])
        #expect(fetch(fixture)?.body == "v1\n")
        let list = try jsonArray(try fixture.baton(["preview", "ls", "--json"]).stdout)
        #expect(list.first?["expires_at"] is String)

        var gone = false
        for _ in 0..<100 where !gone {  // ten seconds at most
            usleep(100_000)
            gone = try jsonArray(try fixture.baton(["preview", "ls", "--json"]).stdout).isEmpty
        }
        #expect(gone, "the preview was not removed within 10 s")
        #expect(fetch(fixture)?.status == 404)
        let ps = try jsonArray(try fixture.baton(["ps", "--json"]).stdout)
        #expect(ps.filter { $0["app"] as? String == "pr-1" }.isEmpty, "\(ps)")
    }

    @Test func mistakesAreOneErrorLineAndCreateNothing() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        let cases: [[String]] = [
            ["preview", "create", "pr-1", "nosuch:1"],
            ["preview", "create", "Bad_Name", "site:1"],
            ["preview", "create", "web", "site:1"],  // the fixture's app, not a preview
        ]
        for arguments in cases {
            let result = try fixture.baton(arguments, allowFailure: true)
            #expect(result.status != 0, "\(arguments)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines.first?.hasPrefix("error: ") == true, "\(arguments): \(result.stderr)")
        }
        #expect(try jsonArray(try fixture.baton(["preview", "ls", "--json"]).stdout).isEmpty)
        let apps = try jsonArray(try fixture.baton(["app", "ls", "--json"]).stdout)
        #expect(apps.map { $0["name"] as? String } == ["web"], "\(apps)")
    }

    @Test func aPreviewThatNeverBecomesHealthyIsRemovedAgain() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("bad", command: "/bin/sh -c 'exit 3'")
        let result = try fixture.baton(["preview", "create", "pr-1", "site:bad"], allowFailure: true)
        #expect(result.status != 0)
        #expect(result.stderr.contains("error: deploy of pr-1 failed"), "\(result.stderr)")
        #expect(try jsonArray(try fixture.baton(["preview", "ls", "--json"]).stdout).isEmpty)
        let ps = try jsonArray(try fixture.baton(["ps", "--json"]).stdout)
        #expect(ps.isEmpty, "\(ps)")
        #expect(fetch(fixture)?.status == 404)

        // A failed swap of a preview that serves leaves it serving.
        try fixture.publishSite("1")
        try fixture.baton(["preview", "create", "pr-1", "site:1"])
        let swap = try fixture.baton(["preview", "create", "pr-1", "site:bad"], allowFailure: true)
        #expect(swap.status != 0)
        #expect(fetch(fixture)?.body == "v1\n")
        let list = try jsonArray(try fixture.baton(["preview", "ls", "--json"]).stdout)
        #expect(list.first?["artifact"] as? String == "site:1", "\(list)")
    }
}
