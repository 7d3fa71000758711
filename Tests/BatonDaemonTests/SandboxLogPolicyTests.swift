import Foundation
import Glibc
import Testing

/// Sandbox logs: capped and rotated once (`--log-max`), kept for the newest ended sandboxes
/// of an app (`--log-retain`), and followed across swaps by `baton logs APP -f`.
@Suite(.serialized, .enabled(if: geteuid() == 0, "requires root"))
struct SandboxLogPolicyTests {
    @Test func aChattySandboxsLogIsCappedAndRotatedOnce() throws {
        let fixture = try DeployFixture(daemonArguments: ["--log-max", "8192"])
        defer { fixture.finish() }
        // About 150 KiB of output before the server starts.
        let loop = "i=0; while [ $i -lt 3000 ]; do echo \"line $i ..........................................\"; i=$((i+1)); done"
        try fixture.publishSite("chatty", command: "/bin/sh -c '\(loop); exec /bin/busybox httpd -f -p 8000 -h /www'")
        try fixture.baton(["deploy", "web", "site:chatty"])
        let id = try fixture.servingSandbox().id
        let directory = "\(fixture.root)/logs/\(id)"
        #expect(try eventually { try fixture.baton(["logs", "web"]).stdout.hasSuffix("line 2999 ..........................................\n") })
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["output.log", "output.log.1"])
        for file in ["output.log", "output.log.1"] {
            let size = try FileManager.default.attributesOfItem(atPath: "\(directory)/\(file)")[.size] as? Int ?? 0
            // The cap, or one read of the program's output (16 KiB) when that alone is larger.
            #expect(size > 0 && size <= 16384, "\(file): \(size) bytes")
        }
    }

    @Test func onlyTheLogsOfTheNewestEndedSandboxesAreKept() throws {
        let fixture = try DeployFixture(daemonArguments: ["--log-retain", "1"])
        defer { fixture.finish() }
        try fixture.publishSite("1")
        try fixture.publishSite("2")
        for version in ["1", "2", "1", "2"] { try fixture.baton(["deploy", "web", "site:\(version)"]) }
        let all = try fixture.json(["ps", "--all"]) as? [[String: Any]] ?? []
        #expect(all.map { $0["state"] as? String } == ["stopped", "running"], "the running one and the newest ended one")
        let ids = Set(all.compactMap { $0["id"] as? String })
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: "\(fixture.root)/logs")) == ids)
    }

    @Test func followingAnAppsLogsGoesOnWithGreensOutputAfterASwap() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishChatty("1", line: "hello from blue")
        try fixture.publishChatty("2", line: "hello from green")
        try fixture.baton(["deploy", "web", "site:1"])
        let follower = try LogFollower(app: "web", root: fixture.root)
        defer { follower.stop() }
        #expect(eventually { follower.output.contains("hello from blue\n") })
        try fixture.baton(["deploy", "web", "site:2"])
        #expect(eventually { follower.output.contains("hello from green\n") }, "\(follower.output)")
        #expect(follower.output == "hello from blue\nhello from green\n")
    }
}
