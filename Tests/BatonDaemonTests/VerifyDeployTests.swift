import Foundation
import Glibc
import Testing

/// `baton deploy --verify`: the daemon's own load through its proxy across a swap, checked
/// against what the test sees independently (wrk, and the proxy's access log).
@Suite(.serialized, .enabled(if: geteuid() == 0, "requires root"))
struct VerifyDeployTests {
    /// A swap under wrk: verify reports 0 failed and 0 non-2xx and exits 0; wrk sees no failure
    /// either. Its figures agree with the access log: exactly as many verify requests, the
    /// same split between blue and green, and each client-side latency percentile at or above
    /// the proxy's own for the same requests (the client's time includes the proxy's). wrk
    /// keeps to 2 connections: busybox httpd listens with a backlog of 9, and a dropped SYN
    /// costs a second.
    @Test(.enabled(if: WrkRun.available, "needs wrk"))
    func verifyReportsNoFailureAcrossASwapUnderWrkAndAgreesWithTheAccessLog() throws {
        let fixture = try DeployFixture(accessLog: true)
        defer { fixture.finish() }
        try fixture.publishSite("1")
        try fixture.publishSite("2")
        try fixture.baton(["deploy", "web", "site:1"])
        let picture = fixture.root + "-timeline.svg"
        defer { unlink(picture) }

        let wrk = try WrkRun(port: fixture.daemon.port, host: DeployFixture.host, connections: 2, limit: 120)
        let began = Date()
        let deploy = try fixture.baton(["deploy", "web", "site:2", "--verify", "--verify-rate", "100/s", "--json", "--report", picture])
        let wall = Date().timeIntervalSince(began)
        let load = wrk.finish()

        let record = try Self.json(deploy.stdout)
        let report = try #require(record["verify"] as? [String: Any], "\(deploy.stdout)")
        let requests = report["requests"] as? Int ?? -1
        #expect(report["failed"] as? Int == 0, "\(report["failures"] ?? "")")
        #expect(report["non2xx"] as? Int == 0, "\(report["failures"] ?? "")")
        #expect(load.failed == 0, "\(load.text)")
        #expect(report["path"] as? String == "/health")

        // Never more than the schedule (request i at i/rate s). Fewer when the machine stalls
        // every connection at once (a dropped SYN costs busybox's clients a second): printed.
        let seconds = report["seconds"] as? Double ?? 0
        #expect(seconds > 1 && seconds < wall, "ran \(seconds) s of a \(wall) s deploy")
        #expect(Double(requests) <= 100 * seconds + 1, "\(requests) requests in \(seconds) s")

        // Both versions answered, and the timeline adds up to the totals.
        let versions = report["versions"] as? [[String: Any]] ?? []
        #expect(Set(versions.compactMap { $0["role"] as? String }) == ["blue", "green"])
        let timeline = report["timeline"] as? [[String: Any]] ?? []
        var answered: [String: Int] = [:]
        for second in timeline {
            for (role, count) in second["answered"] as? [String: Int] ?? [:] { answered[role, default: 0] += count }
        }
        #expect(answered.values.reduce(0, +) == requests)
        #expect((answered["blue"] ?? 0) > 0 && (answered["green"] ?? 0) > 0, "\(answered)")
        #expect(answered["other"] == nil)
        #expect(report["flip_at"] as? Double != nil && report["blue_stopped_at"] as? Double != nil)

        // The proxy's access log, independently: the verify path is requested by nobody else
        // through the proxy (the health checker goes straight to the sandbox).
        // Its lines are written as each response ends: wait (bounded) until they are all there.
        var logged: [[String: Any]] = []
        for _ in 0..<100 {
            logged = try Self.accessLog(fixture.daemon.accessLogPath).filter { $0["path"] as? String == "/health" }
            if logged.count >= requests { break }
            usleep(50_000)
        }
        #expect(logged.count == requests, "access log \(logged.count) vs report \(requests)")
        #expect(logged.allSatisfy { $0["status"] as? Int == 200 })
        let byTarget = Dictionary(grouping: logged) { $0["target"] as? String ?? "" }.mapValues(\.count)
        #expect(byTarget.values.sorted() == answered.values.sorted(), "\(byTarget) vs \(answered)")
        // For each request the client's latency includes the proxy's; so each percentile of
        // the same requests is at least the proxy's (within 50 µs: each side takes its times a few syscalls apart).
        let proxyTimes = logged.compactMap { $0["duration_ms"] as? Double }
        let all = report["all"] as? [String: Any] ?? [:]
        let clientP50 = all["p50"] as? Double ?? -1, clientP99 = all["p99"] as? Double ?? -1
        #expect(all["requests"] as? Int == requests)
        #expect(clientP50 >= Self.percentile(proxyTimes, 0.5) - 0.05, "client p50 \(clientP50) ms, proxy \(Self.percentile(proxyTimes, 0.5)) ms")
        #expect(clientP99 >= Self.percentile(proxyTimes, 0.99) - 0.05, "client p99 \(clientP99) ms, proxy \(Self.percentile(proxyTimes, 0.99)) ms")
        #expect(clientP99 < wall * 1000)
        print("verify: \(requests) requests in \(seconds) s (\(Int(Double(requests) / seconds))/s of 100/s); p50 \(clientP50) ms p99 \(clientP99) ms (proxy p50 \(Self.percentile(proxyTimes, 0.5)) p99 \(Self.percentile(proxyTimes, 0.99))); p99 before/during/after \(report["before"] ?? "") \(report["during"] ?? "") \(report["after"] ?? ""); wrk \(load.requests) requests, p99 \(load.p99Milliseconds) ms")

        // The picture, and the same one redrawn from the stored report.
        let svg = try String(contentsOfFile: picture, encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains(">flip<") && svg.contains("green "))
        let redrawn = fixture.root + "-redrawn.svg"
        defer { unlink(redrawn) }
        let id = record["id"] as? Int ?? -1
        try fixture.baton(["history", "web", "--report", String(id), redrawn])
        #expect(try String(contentsOfFile: redrawn, encoding: .utf8) == svg)
        let history = try JSONSerialization.jsonObject(with: Data(try fixture.baton(["history", "web", "--json"]).stdout.utf8)) as? [[String: Any]]
        #expect((history?.first?["verify"] as? [String: Any])?["requests"] as? Int == requests)
    }

    /// Green serves 30 connections and exits: the load goes on past the flip, so requests fail
    /// (502/503 from the proxy); verify reports them and the command exits 1 with one error
    /// line, while the deployment itself succeeded (the swap is not undone).
    @Test func failuresDuringVerifyAreReportedAndFailTheCommand() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        try Self.publishDyingSite(fixture, connections: 30)
        try fixture.baton(["deploy", "web", "site:1"])

        let deploy = try fixture.baton(["deploy", "web", "dying:1", "--verify", "--verify-rate", "100", "--json"], allowFailure: true)
        #expect(deploy.status == 1, "\(deploy.stderr)")
        let errors = deploy.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(errors.count == 1 && errors[0].hasPrefix("error: verify of web saw "), "\(deploy.stderr)")
        #expect(deploy.stderr.contains("the swap itself stands"))

        let record = try Self.json(deploy.stdout)
        #expect(record["outcome"] as? String == "succeeded")
        let report = try #require(record["verify"] as? [String: Any], "\(deploy.stdout)")
        let bad = (report["failed"] as? Int ?? 0) + (report["non2xx"] as? Int ?? 0)
        #expect(bad > 0, "\(report)")
        #expect(!(report["failures"] as? [String] ?? []).isEmpty)
        // Stored with the deployment (a restart of the dead green may have come after it).
        let history = try JSONSerialization.jsonObject(with: Data(try fixture.baton(["history", "web", "--json"]).stdout.utf8)) as? [[String: Any]]
        let stored = history?.first { $0["id"] as? Int == record["id"] as? Int }?["verify"] as? [String: Any]
        #expect(stored?["requests"] as? Int == report["requests"] as? Int)
    }

    /// An app's first deploy has no blue: the load starts at the flip (before it the app only
    /// answers 503), so nothing of it is refused, and only green answers.
    @Test func aFirstDeployIsVerifiedFromTheFlip() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        let deploy = try fixture.baton(["deploy", "web", "site:1", "--verify", "--verify-rate", "50", "--json"], allowFailure: true)
        #expect(deploy.status == 0, "\(deploy.stderr)")
        let report = try #require(try Self.json(deploy.stdout)["verify"] as? [String: Any], "\(deploy.stdout)")
        #expect(report["failed"] as? Int == 0 && report["non2xx"] as? Int == 0, "\(report["failures"] ?? "")")
        #expect((report["versions"] as? [[String: Any]])?.compactMap { $0["role"] as? String } == ["green"])
        #expect((report["before"] as? [String: Any])?["requests"] as? Int == 0)
        #expect((report["after"] as? [String: Any])?["requests"] as? Int == report["requests"] as? Int)
    }

    /// Bad verify options change nothing: one error line, no deployment recorded.
    @Test func badVerifyOptionsAreRefusedBeforeAnythingStarts() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        for arguments in [["--verify", "--verify-rate", "0"], ["--verify", "--verify-rate", "100000"],
                          ["--verify", "--verify-path", "no-slash"], ["--verify", "--verify-rate", "ten/s"], ["--verify-rate", "10"],
                          ["--report", "x.svg"]] {
            let result = try fixture.baton(["deploy", "web", "site:1"] + arguments, allowFailure: true)
            #expect(result.status != 0)
            #expect(result.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }.count == 1, "\(arguments): \(result.stderr)")
        }
        let history = try JSONSerialization.jsonObject(with: Data(try fixture.baton(["history", "web", "--json"]).stdout.utf8)) as? [Any]
        #expect(history?.isEmpty == true)
    }

    /// `dying:1`: answers /health and / with 200 from a busybox nc loop, one connection each,
    /// and exits after `connections`.
    static func publishDyingSite(_ fixture: DeployFixture, connections: Int) throws {
        let source = fixture.root + "/src/dying"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        // Reads the request head (so closing sends FIN, not RST), then answers.
        try """
            #!/bin/sh
            while read -r line; do [ ${#line} -le 1 ] && break; done
            printf 'HTTP/1.1 200 OK\\r\\nContent-Length: 3\\r\\nConnection: close\\r\\n\\r\\nok\\n'
            """.write(toFile: source + "/answer", atomically: true, encoding: .utf8)
        try """
            #!/bin/sh
            i=0
            while [ $i -lt \(connections) ]; do /bin/busybox nc -l -p 8000 -e /answer; i=$((i+1)); done
            """.write(toFile: source + "/serve", atomically: true, encoding: .utf8)
        chmod(source + "/answer", 0o755)
        chmod(source + "/serve", 0o755)
        try fixture.baton(["artifact", "publish", "dying:1", source, "--base", "base:1", "--port", "8000", "--health-path", "/health",
                           "--cmd", "/bin/sh /serve"])
    }

    static func json(_ text: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
    }

    /// The access log's JSON lines (the daemon writes them in batches).
    static func accessLog(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    static func percentile(_ values: [Double], _ fraction: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)]
    }
}
