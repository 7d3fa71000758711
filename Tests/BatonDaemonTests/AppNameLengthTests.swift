import Foundation
import Glibc
import Testing

/// Every app name that passes validation can deploy: its sandboxes are named NAME-xxxxxxxx,
/// and a sandbox name is at most 64 bytes.
@Suite(.serialized, .enabled(if: geteuid() == 0, "requires root"))
struct AppNameLengthTests {
    @Test func theLongestValidNameDeploysAndOneMoreIsRefusedAtCreate() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        let longest = "a" + String(repeating: "b", count: 54)
        try fixture.baton(["app", "create", longest, "--host", "long.test"])
        let deployed = try fixture.baton(["deploy", longest, "site:1"], allowFailure: true)
        #expect(deployed.status == 0, "\(deployed.stderr)")
        #expect(HTTPGet.fetch(port: fixture.daemon.port, host: "long.test", path: "/")?.body == "v1\n")

        let tooLong = longest + "c"
        let refused = try fixture.baton(["app", "create", tooLong, "--host", "longer.test"], allowFailure: true)
        #expect(refused.status != 0)
        #expect(refused.stderr == "error: invalid app name '\(tooLong)': use 1-55 lower-case letters, digits and '-', starting with a letter or digit\n")
        let listed = try fixture.baton(["app", "ls", "--json"]).stdout
        #expect(!listed.contains(tooLong))
        let preview = try fixture.baton(["preview", "create", tooLong, "site:1"], allowFailure: true)
        #expect(preview.status != 0)
        #expect(preview.stderr.hasPrefix("error: invalid preview name '\(tooLong)': use 1-55"), "\(preview.stderr)")
    }
}
