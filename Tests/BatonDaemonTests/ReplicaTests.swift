import Foundation
import Glibc
import Synchronization
import Testing

/// `--replicas N`: N sandboxes serve an app at once, each health-gated, routed round-robin;
/// when one dies the others keep serving, and only it is restarted and added back.
@Suite(.serialized, .enabled(if: geteuid() == 0, "requires root"))
struct ReplicaTests {
    /// Statuses of the requests a few client threads send back to back, until stopped.
    final class Load: Sendable {
        private let state = Mutex<(stop: Bool, statuses: [Int])>((false, []))

        func start(port: Int, clients: Int) -> DispatchGroup {
            let group = DispatchGroup()
            for _ in 0..<clients {
                DispatchQueue.global().async(group: group) { [self] in
                    while !state.withLock({ $0.stop }) {
                        let request = "GET / HTTP/1.1\r\nHost: \(DeployFixture.host)\r\nConnection: close\r\n\r\n"
                        let status = (try? RawHTTP.exchange(port: port, request, timeout: 10)).map { RawHTTP.parse($0).status } ?? 0
                        state.withLock { $0.statuses.append(status) }
                    }
                }
            }
            return group
        }

        var statuses: [Int] { state.withLock { $0.statuses } }

        func stop(_ group: DispatchGroup) -> [Int] {
            state.withLock { $0.stop = true }
            group.wait()
            return statuses
        }
    }

    /// Publishes `site:VERSION` whose /cgi-bin/who answers the sandbox that ran it.
    static func publishWhoSite(_ fixture: DeployFixture, _ version: String) throws {
        try fixture.publishSite(version)
        let source = "\(fixture.root)/src/site\(version)"
        let who = source + "/www/cgi-bin/who"
        try "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n%s\\n' \"$BATON_SANDBOX\"\n".write(toFile: who, atomically: true, encoding: .utf8)
        chmod(who, 0o755)
        try fixture.baton(["artifact", "publish", "site:\(version)w", source, "--base", "base:1", "--port", "8000", "--health-path", "/health",
                           "--cmd", "/bin/busybox httpd -f -p 8000 -h /www"])
    }

    /// The sandboxes that answered `count` requests for /cgi-bin/who.
    static func answering(_ fixture: DeployFixture, count: Int) -> [String: Int] {
        var seen: [String: Int] = [:]
        for _ in 0..<count {
            guard let reply = fixture.get("/cgi-bin/who"), reply.status == 200 else { seen["failed", default: 0] += 1; continue }
            seen[reply.body.trimmingCharacters(in: .whitespacesAndNewlines), default: 0] += 1
        }
        return seen
    }

    static func serving(_ fixture: DeployFixture) throws -> [(id: String, pid: Int, replicaOf: String?)] {
        let ps = try fixture.baton(["ps", "--json"])
        let rows = try JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [[String: Any]] ?? []
        return rows.filter { $0["serving"] as? Bool == true && $0["state"] as? String == "running" }.map {
            ($0["id"] as? String ?? "", $0["pid"] as? Int ?? 0, $0["replica_of"] as? String)
        }
    }

    @Test func twoReplicasAreHealthGatedAndServedRoundRobinAndASwapReplacesBoth() throws {
        let fixture = try DeployFixture(appFlags: ["--replicas", "2"])
        defer { fixture.finish() }
        try Self.publishWhoSite(fixture, "1")
        try fixture.baton(["deploy", "web", "site:1w"])
        let first = try Self.serving(fixture)
        #expect(first.count == 2, "\(first)")
        #expect(first.filter { $0.replicaOf == nil }.count == 1 && first.filter { $0.replicaOf != nil }.count == 1, "\(first)")
        let seen = Self.answering(fixture, count: 10)
        #expect(Set(seen.keys) == Set(first.map(\.id)), "both replicas answer: \(seen)")
        #expect(seen.values.allSatisfy { $0 == 5 }, "round-robin: \(seen)")

        let listed = try JSONSerialization.jsonObject(with: Data(fixture.baton(["app", "ls", "--json"]).stdout.utf8)) as? [[String: Any]]
        #expect(listed?.first?["replicas"] as? Int == 2)
        // Bad counts are one error line and change nothing; another setting keeps the count.
        for (arguments, message) in [
            (["app", "set", "web", "--replicas", "17"], "error: invalid --replicas 17: use 1-16"),
            (["app", "create", "old", "--host", "old.test", "--upstream", "127.0.0.1:9", "--replicas", "2"],
             "error: --upstream apps run outside Baton: --replicas does not apply"),
        ] {
            let refused = try fixture.baton(arguments, allowFailure: true)
            #expect(refused.status != 0 && refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
            #expect(refused.stderr.hasPrefix(message), "\(refused.stderr)")
        }
        try fixture.baton(["app", "set", "web", "--hsts"])
        let inspected = try JSONSerialization.jsonObject(with: Data(fixture.baton(["app", "inspect", "web", "--json"]).stdout.utf8)) as? [String: Any]
        #expect(inspected?["replicas"] as? Int == 2, "a setting not given stays")

        // A swap starts two greens, gates both, flips both and stops both blues.
        try Self.publishWhoSite(fixture, "2")
        try fixture.baton(["deploy", "web", "site:2w"])
        let second = try Self.serving(fixture)
        #expect(second.count == 2 && Set(second.map(\.id)).isDisjoint(with: first.map(\.id)), "\(second)")
        let all = try JSONSerialization.jsonObject(with: Data(fixture.baton(["ps", "--all", "--json"]).stdout.utf8)) as? [[String: Any]] ?? []
        for old in first {
            #expect(all.first { $0["id"] as? String == old.id }?["state"] as? String == "stopped", "\(old.id) was stopped")
        }
        #expect(Set(Self.answering(fixture, count: 4).keys) == Set(second.map(\.id)))

        // A rollback moves the whole group back, and is on record as one.
        try fixture.baton(["rollback", "web"])
        let third = try Self.serving(fixture)
        #expect(third.count == 2 && Set(third.map(\.id)).isDisjoint(with: second.map(\.id)), "\(third)")
        #expect(fixture.get()?.body == "v1\n")
        let history = try JSONSerialization.jsonObject(with: Data(fixture.baton(["history", "web", "--json"]).stdout.utf8))
            as? [[String: Any]] ?? []
        #expect(history.map { $0["trigger"] as? String } == ["rollback", "deploy", "deploy"], "\(history)")
    }

    @Test func aKillMinusNineOfTheDaemonLeavesBothReplicasServingAndTheNextOneAdoptsThem() throws {
        let fixture = try DeployFixture(appFlags: ["--replicas", "2"])
        defer { fixture.finish() }
        try Self.publishWhoSite(fixture, "1")
        try fixture.baton(["deploy", "web", "site:1w"])
        let before = try Self.serving(fixture)
        try #require(before.count == 2)

        fixture.daemon.killHard()
        let restarted = try DaemonProcess(root: fixture.root)
        defer { restarted.stop() }
        let after = try Self.serving(fixture)
        #expect(after.map(\.id).sorted() == before.map(\.id).sorted() && after.map(\.pid).sorted() == before.map(\.pid).sorted(),
                "the same two sandboxes, adopted: \(after)")
        var seen: [String: Int] = [:]
        for _ in 0..<6 {
            let reply = HTTPGet.fetch(port: restarted.port, host: DeployFixture.host, path: "/cgi-bin/who")
            seen[reply?.status == 200 ? reply!.body.trimmingCharacters(in: .whitespacesAndNewlines) : "failed", default: 0] += 1
        }
        #expect(Set(seen.keys) == Set(before.map(\.id)), "both replicas serve through the new daemon: \(seen)")
        try fixture.baton(["app", "rm", "web"])
    }

    @Test func killMinusNineOfOneReplicaUnderLoadFailsAtMostItsRequestsInFlightAndItComesBack() throws {
        let fixture = try DeployFixture(appFlags: ["--replicas", "2"])
        defer { fixture.finish() }
        try Self.publishWhoSite(fixture, "1")
        try fixture.baton(["deploy", "web", "site:1w"])
        let before = try Self.serving(fixture)
        try #require(before.count == 2)
        // The group's first: the one the app's serving pointer names.
        let victim = try #require(before.first { $0.replicaOf == nil })
        let survivor = try #require(before.first { $0.replicaOf != nil })

        let clients = 4
        let load = Load()
        let running = load.start(port: fixture.daemon.port, clients: clients)
        // Some requests before the kill, so it lands under load.
        while load.statuses.count < 50 { usleep(2_000) }
        #expect(kill(Int32(victim.pid), SIGKILL) == 0)
        // Until a new replica serves beside the survivor.
        let deadline = Date().addingTimeInterval(30)
        var after: [(id: String, pid: Int, replicaOf: String?)] = []
        while Date() < deadline {
            after = try Self.serving(fixture)
            if after.count == 2 && !after.contains(where: { $0.id == victim.id }) { break }
            usleep(20_000)
        }
        let countAtReturn = load.statuses.count
        while load.statuses.count < countAtReturn + 50 { usleep(2_000) }
        let statuses = load.stop(running)

        let failed = statuses.filter { $0 != 200 }
        print("replica killed under load: \(statuses.count) requests, \(failed.count) not 200 (\(failed)), \(clients) clients")
        // Each client has at most one request in flight: at most that many were on the victim.
        #expect(failed.count <= clients, "only requests in flight on the killed replica may fail: \(failed)")
        #expect(after.count == 2 && after.contains { $0.id == survivor.id && $0.pid == survivor.pid }, "the survivor served on: \(after)")
        let replacement = try #require(after.first { $0.id != survivor.id })
        #expect(replacement.replicaOf == victim.id, "the replacement joins the group: \(after)")
        let seen = Self.answering(fixture, count: 10)
        #expect(Set(seen.keys) == [survivor.id, replacement.id], "the replacement is routed again: \(seen)")

        // On record: the victim exited by signal 9; one restart deployment of the same digest.
        let all = try JSONSerialization.jsonObject(with: Data(fixture.baton(["ps", "--all", "--json"]).stdout.utf8)) as? [[String: Any]] ?? []
        let ended = all.first { $0["id"] as? String == victim.id }
        #expect(ended?["state"] as? String == "exited" && ended?["exit_signal"] as? Int == 9, "\(String(describing: ended))")
        let history = try JSONSerialization.jsonObject(with: Data(fixture.baton(["history", "web", "--json"]).stdout.utf8))
            as? [[String: Any]] ?? []
        let restart = history.first
        #expect(restart?["trigger"] as? String == "restart" && restart?["outcome"] as? String == "succeeded", "\(history)")
        #expect(restart?["from_digest"] as? String == restart?["to_digest"] as? String)
        #expect((restart?["phases"] as? [[String: Any]])?.compactMap { $0["phase"] as? String } == ["started", "healthy", "routed"])
        #expect((restart?["trigger_detail"] as? String ?? "").contains(victim.id))
    }
}
