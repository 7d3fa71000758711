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
        let killedAt = Date()
        // Until the daemon sees the exit a request may still find the dead namespace (502);
        // from then on the route answers 503 itself. How long that takes is measured, not
        // asserted (a loaded machine may take longer): the order is what must hold.
        var beforeFirst503: [Int] = []
        var first503: Reply?
        while first503 == nil, Date() < killedAt.addingTimeInterval(10) {
            guard let reply = Self.fetch(fixture) else { continue }
            if reply.status == 503 { first503 = reply } else { beforeFirst503.append(reply.status) }
        }
        let noticed = Date().timeIntervalSince(killedAt)
        print("serving sandbox killed: first 503 after \(Int(noticed * 1000)) ms, \(beforeFirst503.count) answers before it: \(Set(beforeFirst503))")
        let refusal = try #require(first503, "the app never answered 503 after its sandbox died")
        #expect(refusal.retryAfter == "1", "a 503 tells the client when to retry: \(refusal.head)")
        #expect(beforeFirst503.allSatisfy { $0 == 502 || $0 == 200 }, "\(beforeFirst503)")

        // Once the daemon records the exit, the route no longer names the sandbox.
        let deadline = Date().addingTimeInterval(10)
        while try Self.sandboxes(fixture, all: true).first(where: { $0.id == killed.id })?.state == "running" {
            guard Date() < deadline else { throw DaemonProcessError("the daemon never saw \(killed.id) exit") }
            usleep(5_000)
        }

        var answers: [Reply] = []
        let until = Date().addingTimeInterval(20)
        while Date() < until {
            guard let reply = Self.fetch(fixture) else { continue }
            answers.append(reply)
            if reply.status == 200 { break }
        }
        #expect(answers.last?.status == 200, "the restart never became healthy: \(answers.suffix(5).map(\.status))")
        let waiting = answers.dropLast()
        #expect(waiting.allSatisfy { $0.status == 503 && $0.retryAfter == "1" },
                "while no sandbox serves, every answer is 503 with Retry-After: \(Set(waiting.map(\.status)))")
        #expect(answers.count > 1, "the restart takes a second to be healthy: 503s come first")
        #expect(answers.last?.body == "vslow\n")
        let restarted = try Self.sandboxes(fixture).first { $0.serving }
        #expect(restarted != nil && restarted?.id != killed.id)

        // The crash is on record: the sandbox ended by signal 9, and a restart deployment
        // that names it brought the same digest back.
        let ended = try Self.sandboxes(fixture, all: true).first { $0.id == killed.id }
        #expect(ended?.state == "exited" && ended?.exitSignal == 9, "\(String(describing: ended))")
        let history = try JSONSerialization.jsonObject(with: Data(fixture.baton(["history", "web", "--json"]).stdout.utf8))
            as? [[String: Any]] ?? []
        #expect(history.map { $0["trigger"] as? String } == ["restart", "deploy"], "\(history)")
        let restart = history.first
        #expect(restart?["outcome"] as? String == "succeeded")
        #expect(restart?["to_digest"] as? String == history.last?["to_digest"] as? String)
        let detail = restart?["trigger_detail"] as? String ?? ""
        #expect(detail.contains(killed.id) && detail.contains("signal 9"), "\(detail)")
        let table = try fixture.baton(["history", "web"]).stdout
        #expect(table.contains("TRIGGER") && table.contains("restart"), "\(table)")
    }

    struct Reply {
        let status: Int
        let head: String
        let body: String
        var retryAfter: String? {
            head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("retry-after:") }
                .map { $0.dropFirst("retry-after:".count).trimmingCharacters(in: .whitespaces) }
        }
    }

    /// One GET of / through the proxy, with the response's head; nil when the exchange failed.
    static func fetch(_ fixture: DeployFixture) -> Reply? {
        let request = "GET / HTTP/1.1\r\nHost: \(DeployFixture.host)\r\nConnection: close\r\n\r\n"
        guard let text = try? RawHTTP.exchange(port: fixture.daemon.port, request, timeout: 10),
            let end = text.range(of: "\r\n\r\n"), let status = Int(text.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        return Reply(status: status, head: String(text[..<end.lowerBound]), body: String(text[end.upperBound...]))
    }

    struct Listed {
        let id: String
        let state: String
        let serving: Bool
        let pid: Int?
        let exitSignal: Int?
    }

    static func sandboxes(_ fixture: DeployFixture, all: Bool = false) throws -> [Listed] {
        let ps = try fixture.baton(["ps", "--json"] + (all ? ["--all"] : []))
        let rows = try JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [[String: Any]] ?? []
        return rows.map {
            Listed(id: $0["id"] as? String ?? "", state: $0["state"] as? String ?? "", serving: $0["serving"] as? Bool ?? false,
                   pid: $0["pid"] as? Int, exitSignal: $0["exit_signal"] as? Int)
        }
    }
}
