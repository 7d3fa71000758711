import Foundation
import Glibc
import Testing

/// `--strategy stop-first` through a real daemon, real sandboxes and real load: requests are
/// held while the app restarts, not refused.
@Suite(.serialized, .enabled(if: geteuid() == 0, "requires root"))
struct StopFirstDeployTests {
    /// Every request started inside a hold window (from the `held` phase to the `routed` or
    /// `restored` one of a deployment record), for the latency while held.
    static func heldSamples(_ samples: [LoadRun.Sample], records: [[String: Any]]) -> [Double] {
        let windows: [(Date, Date)] = records.compactMap { record in
            let phases = record["phases"] as? [[String: Any]] ?? []
            func at(_ name: String) -> Date? {
                (phases.first { $0["phase"] as? String == name }?["completed_at"] as? String).flatMap(Self.date)
            }
            guard let held = at("held"), let end = at("routed") ?? at("restored") else { return nil }
            return (held, end)
        }
        return samples.filter { sample in windows.contains { sample.start >= $0.0 && sample.start <= $0.1 } }.map(\.seconds)
    }

    static func date(_ text: String) -> Date? {
        try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
    }

    static func percentile(_ values: [Double], _ fraction: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)]
    }

    static func json(_ text: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
    }

    /// The benchmark: 20 stop-first swaps of an app that takes 200 ms to start, under
    /// wrk and two timing clients. No request may fail; the p99 while held is printed (and
    /// recorded in docs/deploys.md). Eight connections in all: busybox httpd listens with a
    /// backlog of 9 and answers one request per connection, so more would measure its dropped
    /// SYNs (a second each, with or without a hold) rather than the hold.
    @Test(.enabled(if: WrkRun.available, "needs wrk"))
    func twentySwapsUnderLoadFailNoRequest() throws {
        let fixture = try DeployFixture(appFlags: ["--strategy", "stop-first", "--volume", "data:/data"])
        defer { fixture.finish() }
        let start = "sleep 0.2; "
        try AppVolumeTests.publishCounter(fixture, "1", start: start)
        try AppVolumeTests.publishCounter(fixture, "2", start: start)
        try fixture.baton(["deploy", "web", "counter:1"])

        let wrk = try WrkRun(port: fixture.daemon.port, host: DeployFixture.host, connections: 6, limit: 240)
        let timed = LoadRun(port: fixture.daemon.port, host: DeployFixture.host, clients: 2, limit: 240)
        var records: [[String: Any]] = []
        for swap in 1...20 {
            let deploy = try fixture.baton(["deploy", "web", "counter:\(swap % 2 + 1)", "--json"])
            records.append(try Self.json(deploy.stdout))
        }
        timed.finish()
        let report = wrk.finish()

        #expect(records.allSatisfy { $0["outcome"] as? String == "succeeded" })
        #expect(records.allSatisfy {
            ($0["phases"] as? [[String: Any]])?.map { $0["phase"] as? String } == ["held", "drained", "stopped", "started", "healthy", "routed"]
        })
        #expect(report.requests > 0, "\(report.text)")
        #expect(report.failed == 0, "\(report.text)")
        #expect(timed.failures == 0)
        #expect(timed.bodies == ["v1\n", "v2\n"])
        let held = Self.heldSamples(timed.samples, records: records)
        // Each hold: from requests held to requests released (the phases after `held`).
        let holds = records.compactMap { record -> Double? in
            let phases = record["phases"] as? [[String: Any]] ?? []
            return phases.dropFirst().compactMap { $0["seconds"] as? Double }.reduce(0, +)
        }
        #expect(held.count >= 10, "requests were held during the swaps")
        // Held about as long as the hold itself: released requests wait for no timer (the hold
        // timeout is 30 s).
        #expect(Self.percentile(held, 0.99) < (holds.max() ?? 0) + 2, "p99 held \(Self.percentile(held, 0.99)) s")
        print("stop-first: 20 swaps under wrk -t2 -c6: \(report.requests) requests, \(report.failed) failed;"
            + " timing clients: \(timed.served) requests, \(timed.failures) failed, \(held.count) held,"
            + String(format: " p50 held %.0f ms, p99 held %.0f ms; hold p50 %.0f ms, max %.0f ms; wrk p99 %.0f ms",
                     Self.percentile(held, 0.5) * 1000, Self.percentile(held, 0.99) * 1000,
                     Self.percentile(holds, 0.5) * 1000, (holds.max() ?? 0) * 1000, report.p99Milliseconds))
        // One sandbox of the app runs once the swaps are done.
        let ps = try fixture.baton(["ps", "--json"])
        #expect((try JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [[String: Any]])?.count == 1)
    }

    @Test func aFailingGreenBringsBlueBackAndTheHeldRequestsAreAnswered() throws {
        let fixture = try DeployFixture(appFlags: ["--strategy", "stop-first", "--health-timeout", "2"])
        defer { fixture.finish() }
        try fixture.publishSite("1")
        try fixture.publishSite("bad", healthPath: "/missing")
        try fixture.baton(["deploy", "web", "site:1"])

        let load = LoadRun(port: fixture.daemon.port, host: DeployFixture.host, clients: 4, limit: 60)
        let failed = try fixture.baton(["deploy", "web", "site:bad"], allowFailure: true)
        load.finish()

        #expect(failed.status != 0)
        #expect(failed.stderr.contains("error: deploy of web failed: web-"), "\(failed.stderr)")
        #expect(failed.stderr.contains(" again on web-"), "\(failed.stderr)")
        #expect(load.failures == 0)
        #expect(load.bodies == ["v1\n"])
        let held = load.samples.filter { $0.seconds >= 1.5 }
        #expect(!held.isEmpty, "requests waited through green's failed health checks")
        #expect(fixture.get()?.body == "v1\n")
        let history = try fixture.baton(["history", "web", "--json"])
        let latest = (try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [[String: Any]])?.first
        #expect(latest?["outcome"] as? String == "failed")
        #expect((latest?["phases"] as? [[String: Any]])?.map { $0["phase"] as? String } == ["held", "drained", "stopped", "started", "restored"])
        let ps = try fixture.baton(["ps", "--json"])
        #expect((try JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [[String: Any]])?.count == 1)
    }

    @Test func requestsHeldPastTheHoldTimeoutAre503AndTheAppStillComesUp() throws {
        let fixture = try DeployFixture(appFlags: ["--strategy", "stop-first", "--hold-timeout", "0.3"])
        defer { fixture.finish() }
        try fixture.publishSite("1")
        try fixture.publishSite("slow", command: "/bin/sh -c 'sleep 1.5; exec /bin/busybox httpd -f -p 8000 -h /www'")
        try fixture.baton(["deploy", "web", "site:1"])
        let load = LoadRun(port: fixture.daemon.port, host: DeployFixture.host, clients: 2, limit: 60)
        try fixture.baton(["deploy", "web", "site:slow"])
        load.finish()
        #expect(load.failures > 0, "a request held longer than 0.3 s is answered 503")
        let reply = HTTPGet.fetch(port: fixture.daemon.port, host: DeployFixture.host, path: "/")
        #expect(reply?.body == "vslow\n")
    }
}
