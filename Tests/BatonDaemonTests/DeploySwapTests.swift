import Foundation
import Glibc
import Synchronization
import Testing

/// Blue-green deploys through a real daemon, real sandboxes and real sockets.
@Suite(.serialized, .enabled(if: geteuid() == 0, "requires root"))
struct DeploySwapTests {
    @Test func swapsUnderLoadFailNoRequestAndLetLongRequestsOnBlueFinish() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        try fixture.publishSite("2")
        try fixture.baton(["deploy", "web", "site:1"])
        #expect(fixture.get()?.body == "v1\n")

        // A bounded load: four clients until the swaps are done (60 s at most).
        let load = LoadRun(port: fixture.daemon.port, host: DeployFixture.host, clients: 4, limit: 60)
        // A long request in flight on blue while it is swapped out.
        let slow = SlowRequest(port: fixture.daemon.port, host: DeployFixture.host, path: "/cgi-bin/slow")
        usleep(300_000)
        for version in ["2", "1", "2"] {
            try fixture.baton(["deploy", "web", "site:\(version)"])
        }
        usleep(300_000)
        load.finish()
        let slowReply = slow.wait()

        #expect(load.failures == 0)
        #expect(load.served > 0)
        #expect(load.bodies == ["v1\n", "v2\n"])
        #expect(slowReply?.status == 200)
        #expect(slowReply?.body == "slow-v1\n")
        #expect(fixture.get()?.body == "v2\n")
        let ps = try fixture.baton(["ps", "--json"])
        let running = try JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(running.count == 1, "one sandbox serves the app: \(ps.stdout)")
    }

    @Test func aFailingHealthCheckLeavesBlueServingAndNoGreen() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        try fixture.publishSite("bad", healthPath: "/missing")
        try fixture.baton(["deploy", "web", "site:1"])
        try fixture.baton(["app", "rm", "web"])
        try fixture.baton(["app", "create", "web", "--host", DeployFixture.host, "--health-timeout", "2"])
        try fixture.baton(["deploy", "web", "site:1"])
        let failed = try fixture.baton(["deploy", "web", "site:bad"], allowFailure: true)
        #expect(failed.status != 0)
        #expect(failed.stderr.contains("error: deploy of web failed"), "\(failed.stderr)")
        #expect(failed.stderr.contains("/missing"))
        #expect(fixture.get()?.body == "v1\n")
        let ps = try fixture.baton(["ps", "--json"])
        let running = try JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(running.count == 1)
        let history = try fixture.baton(["history", "web", "--json"])
        let records = try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(records.first?["outcome"] as? String == "failed")
    }

    @Test func aSlowStarterInsideTheHealthTimeoutIsDeployed() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("slow", command: "/bin/sh -c 'sleep 1.5; exec /bin/busybox httpd -f -p 8000 -h /www'")
        let result = try fixture.baton(["deploy", "web", "site:slow"])
        #expect(result.status == 0)
        #expect(fixture.get()?.body == "vslow\n")
    }

    @Test func rollbackAndHistoryNameTheDigests() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        try fixture.publishSite("2")
        try fixture.baton(["deploy", "web", "site:1"])
        try fixture.baton(["deploy", "web", "site:2"])
        try fixture.baton(["rollback", "web"])
        #expect(fixture.get()?.body == "v1\n")
        let digest = { (ref: String) throws -> String in
            let inspect = try fixture.baton(["artifact", "inspect", ref, "--json"])
            return (try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any])?["digest"] as? String ?? ""
        }
        let v1 = try digest("site:1"), v2 = try digest("site:2")
        let history = try fixture.baton(["history", "web", "--json"])
        let records = try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(records.count == 3)
        #expect(records.map { $0["to_digest"] as? String } == [v1, v2, v1])
        #expect(records.map { $0["from_digest"] as? String } == [v2, v1, nil])
        #expect(records.allSatisfy { $0["outcome"] as? String == "succeeded" })
        #expect((records.first?["phases"] as? [[String: Any]])?.map { $0["phase"] as? String } == ["started", "healthy", "routed", "drained", "stopped"])
    }

    @Test func aCrashedAppIsRestartedFromTheSameDigest() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        try fixture.baton(["deploy", "web", "site:1"])
        let before = try servingSandbox(fixture)
        // The program dies (not the sandbox's init): init exits with it, the daemon restarts.
        try fixture.baton(["exec", before.id, "--", "/bin/sh", "-c", "kill -9 -1"], allowFailure: true)
        var after = before
        for _ in 0..<200 where after.id == before.id {
            usleep(50_000)
            after = (try? servingSandbox(fixture)) ?? before
        }
        #expect(after.id != before.id)
        #expect(fixture.get()?.body == "v1\n")
    }

    @Test func killMinusNineOfTheDaemonLosesNothing() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        try fixture.baton(["deploy", "web", "site:1"])
        let serving = try servingSandbox(fixture)
        fixture.daemon.killHard()
        let restarted = try DaemonProcess(root: fixture.root)
        defer { restarted.stop() }
        #expect(HTTPGet.fetch(port: restarted.port, host: DeployFixture.host, path: "/")?.body == "v1\n")
        // The same sandbox was adopted, not replaced.
        let ps = try fixture.baton(["ps", "--json"])
        let running = try JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(running.map { $0["id"] as? String } == [serving.id])
        // ps checks health on the spot, through the sandbox's own network namespace.
        #expect(running.first?["health"] as? String == "healthy")
        _ = try? fixture.baton(["app", "rm", "web"], allowFailure: true)
    }

    @Test func logsAndExecReachTheServingSandbox() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("chatty", command: "/bin/sh -c 'echo hello from v-chatty; exec /bin/busybox httpd -f -p 8000 -h /www'")
        try fixture.baton(["deploy", "web", "site:chatty"])
        let logs = try fixture.baton(["logs", "web"])
        #expect(logs.stdout == "hello from v-chatty\n")
        let serving = try servingSandbox(fixture)
        let exec = try fixture.baton(["exec", serving.id, "--", "/bin/cat", "/www/index.html"])
        #expect(exec.stdout == "vchatty\n")
    }

    @Test func aSecondDeployOfTheSameAppIsRefusedWhileOneRuns() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        try fixture.publishSite("slow", command: "/bin/sh -c 'sleep 2; exec /bin/busybox httpd -f -p 8000 -h /www'")
        try fixture.baton(["deploy", "web", "site:1"])
        let root = fixture.root
        let first = Thread { _ = try? DeployFixture.baton(["deploy", "web", "site:slow"], root: root, allowFailure: true) }
        first.start()
        try waitForRunningDeployment(fixture)
        let second = try fixture.baton(["deploy", "web", "site:1"], allowFailure: true)
        #expect(second.status != 0)
        #expect(second.stderr == "error: a deploy of web is already in progress\n", "\(second.stderr)")
        while !first.isFinished { usleep(20_000) }
        #expect(fixture.get()?.body == "vslow\n")
    }

    @Test func killMinusNineMidSwapRecordsItInterruptedAndLeavesNoGreen() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        try fixture.publishSite("slow", command: "/bin/sh -c 'sleep 3; exec /bin/busybox httpd -f -p 8000 -h /www'")
        try fixture.baton(["deploy", "web", "site:1"])
        let blue = try servingSandbox(fixture)
        let root = fixture.root
        let swap = Thread { _ = try? DeployFixture.baton(["deploy", "web", "site:slow"], root: root, allowFailure: true) }
        swap.start()
        try waitForRunningDeployment(fixture)  // green is starting, not yet healthy
        fixture.daemon.killHard()
        while !swap.isFinished { usleep(20_000) }
        let restarted = try DaemonProcess(root: fixture.root)
        defer { restarted.stop() }
        #expect(HTTPGet.fetch(port: restarted.port, host: DeployFixture.host, path: "/")?.body == "v1\n")
        let history = try fixture.baton(["history", "web", "--json"])
        let records = try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(records.first?["outcome"] as? String == "interrupted")
        let ps = try fixture.baton(["ps", "--json"])
        let running = try JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(running.map { $0["id"] as? String } == [blue.id], "only blue runs: \(ps.stdout)")
        _ = try? fixture.baton(["app", "rm", "web"], allowFailure: true)
    }

    @Test func stopEndsTheServingSandboxAndTheAppAnswers503() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        try fixture.baton(["deploy", "web", "site:1"])
        let serving = try servingSandbox(fixture)
        try fixture.baton(["stop", serving.id])
        #expect(fixture.get()?.status == 503)
        let ps = try fixture.baton(["ps", "--all", "--json"])
        let boxes = try JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(boxes.first { $0["id"] as? String == serving.id }?["state"] as? String == "stopped")
        #expect(kill(Int32(serving.pid), 0) != 0)
        let again = try fixture.baton(["stop", serving.id], allowFailure: true)
        #expect(again.stderr == "error: no running sandbox \(serving.id): see 'baton ps'\n")
        // A deploy brings it back.
        try fixture.baton(["deploy", "web", "site:1"])
        #expect(fixture.get()?.body == "v1\n")
    }

    /// Waits (bounded) until the app's newest deployment is in progress.
    func waitForRunningDeployment(_ fixture: DeployFixture) throws {
        for _ in 0..<400 {
            let history = try fixture.baton(["history", "web", "--json"])
            let records = try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [[String: Any]] ?? []
            if records.first?["outcome"] as? String == "running" { return }
            usleep(25_000)
        }
        throw DaemonProcessError("no deployment of web started")
    }

    func servingSandbox(_ fixture: DeployFixture) throws -> (id: String, pid: Int) {
        try fixture.servingSandbox()
    }
}
