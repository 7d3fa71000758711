import Foundation
import Glibc
import Testing

/// What an app answers while its serving sandbox is gone: 503 from the moment the daemon sees
/// the exit until a restart is healthy, never a connection into a namespace that is not the
/// sandbox's (a route by /proc/PID/ns/net would follow a reused pid there).
@Suite(.serialized, .enabled(if: geteuid() == 0, "requires root"))
struct ServingSandboxExitTests {
    @Test func killMinusNineOfTheServingInitAnswers503UntilTheRestartIsHealthy() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        // Healthy a second after start, so the restart leaves a window to watch.
        try fixture.publishSite("slow", command: "/bin/sh -c 'sleep 1; exec /bin/busybox httpd -f -p 8000 -h /www'")
        try fixture.baton(["deploy", "web", "site:slow"])
        let serving = try Self.sandboxes(fixture).first { $0.serving }
        let killed = try #require(serving)
        #expect(fixture.get()?.body == "vslow\n")

        #expect(kill(Int32(killed.pid ?? 0), SIGKILL) == 0)
        // Once the daemon records the exit, the route no longer names the sandbox.
        let deadline = Date().addingTimeInterval(10)
        while try Self.sandboxes(fixture, all: true).first(where: { $0.id == killed.id })?.state == "running" {
            guard Date() < deadline else { throw DaemonProcessError("the daemon never saw \(killed.id) exit") }
            usleep(5_000)
        }

        var answers: [Int] = []
        var body = ""
        let until = Date().addingTimeInterval(20)
        while Date() < until {
            guard let reply = fixture.get() else { continue }
            answers.append(reply.status)
            if reply.status == 200 {
                body = reply.body
                break
            }
        }
        #expect(answers.last == 200, "the restart never became healthy: \(answers.suffix(5))")
        #expect(answers.dropLast().allSatisfy { $0 == 503 }, "while no sandbox serves, every answer is 503: \(Set(answers))")
        #expect(answers.count > 1, "the restart takes a second to be healthy: 503s come first")
        #expect(body == "vslow\n")
        let restarted = try Self.sandboxes(fixture).first { $0.serving }
        #expect(restarted != nil && restarted?.id != killed.id)
    }

    struct Listed {
        let id: String
        let state: String
        let serving: Bool
        let pid: Int?
    }

    static func sandboxes(_ fixture: DeployFixture, all: Bool = false) throws -> [Listed] {
        let ps = try fixture.baton(["ps", "--json"] + (all ? ["--all"] : []))
        let rows = try JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [[String: Any]] ?? []
        return rows.map {
            Listed(id: $0["id"] as? String ?? "", state: $0["state"] as? String ?? "", serving: $0["serving"] as? Bool ?? false,
                   pid: $0["pid"] as? Int)
        }
    }
}
