import Foundation
import Glibc
import Testing

/// A change of configuration is a deploy of the same digest with it: health-gated, in the
/// history with its version, undone by rollback; through a real daemon and real sandboxes.
@Suite(.serialized, .enabled(if: geteuid() == 0, "requires root"))
struct ConfigSwapTests {
    @Test func everyAppSandboxKnowsItsPortAppDigestAndIdAndAnArtifactCannotSayOtherwise() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        // The artifact's own environment tries to move the port and to pass for another app.
        let source = "\(fixture.root)/src/liar"
        try FileManager.default.createDirectory(atPath: source + "/www", withIntermediateDirectories: true)
        try "ok\n".write(toFile: source + "/www/health", atomically: true, encoding: .utf8)
        try fixture.baton(["artifact", "publish", "liar:1", source, "--base", "base:1", "--port", "8000", "--health-path", "/health",
                           "--env", "PORT=1", "--env", "BATON_APP=other", "--env", "BATON_SANDBOX=other-1",
                           "--cmd", "/bin/busybox httpd -f -p 8000 -h /www"])
        try fixture.baton(["deploy", "web", "liar:1"])
        let digest = try fixture.inspect()["digest"] as? String ?? ""
        let sandbox = try fixture.servingSandbox().id
        let environment = try fixture.servingEnvironment()
        for expected in ["PORT=8000", "BATON_APP=web", "BATON_DIGEST=\(digest)", "BATON_SANDBOX=\(sandbox)"] {
            #expect(environment.filter { $0.hasPrefix(expected.prefix { $0 != "=" } + "=") } == [expected], "\(environment)")
        }
    }

    @Test func appSetEnvSwapsWithZeroFailedRequestsAndRollbackRestoresTheOldValue() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        try fixture.baton(["app", "set", "web", "--env", "GREETING=one"])
        try fixture.baton(["deploy", "web", "site:1"])
        #expect(try fixture.servingEnvironment().contains("GREETING=one"))

        let load = LoadRun(port: fixture.daemon.port, host: DeployFixture.host, clients: 4, limit: 60)
        let set = try fixture.baton(["app", "set", "web", "--env", "GREETING=two", "--env", "EXTRA=1"])
        #expect(try fixture.servingEnvironment().filter { $0.hasPrefix("GREETING=") || $0.hasPrefix("EXTRA=") } == ["EXTRA=1", "GREETING=two"])
        let rollback = try fixture.baton(["rollback", "web"])
        load.finish()
        #expect(load.failures == 0)
        #expect(load.served > 0)

        #expect(set.stdout.hasSuffix("with configuration 3\n"), "\(set.stdout)")
        #expect(set.stderr.contains("routed"), "the swap's phases: \(set.stderr)")
        #expect(rollback.status == 0)
        let environment = try fixture.servingEnvironment()
        #expect(environment.contains("GREETING=one") && !environment.contains { $0.hasPrefix("EXTRA=") }, "\(environment)")
        #expect(try fixture.inspect()["config_version"] as? Int == 2)
        #expect(try fixture.inspect()["env"] as? [String] == ["GREETING=one"])
        let records = try fixture.history()
        #expect(records.map { $0["config_version"] as? Int } == [2, 3, 2])
        #expect(records.map { $0["from_config_version"] as? Int } == [3, 2, nil])
        #expect(Set(records.compactMap { $0["to_digest"] as? String }).count == 1, "one digest throughout")
        #expect(records.allSatisfy { $0["outcome"] as? String == "succeeded" })
        let table = try fixture.baton(["history", "web"]).stdout
        #expect(table.contains("CONFIG") && table.contains("3->2"), "\(table)")
    }

    @Test func appSetOnAnAppThatServesNothingStoresTheConfigurationForItsFirstDeploy() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        let set = try fixture.baton(["app", "set", "web", "--env", "A=1", "--cpus", "0.5", "--memory", "67108864"])
        #expect(set.stdout == "web: configuration 2 stored; nothing serves web, its next deploy starts with it\n")
        #expect(try fixture.history().isEmpty, "no deploy")
        let app = try fixture.inspect()
        #expect(app["config_version"] as? Int == 2 && app["env"] as? [String] == ["A=1"] && app["cpus"] as? Double == 0.5)
        try fixture.baton(["deploy", "web", "site:1"])
        #expect(try fixture.servingEnvironment().contains("A=1"))
        #expect(try fixture.history().first?["config_version"] as? Int == 2)
        let record = try Data(contentsOf: URL(fileURLWithPath: "\(fixture.root)/sandboxes/\(try fixture.servingSandbox().id)/sandbox.json"))
        let cgroups = (try JSONSerialization.jsonObject(with: record) as? [String: Any])?["cgroup_paths"] as? [String] ?? []
        let quotas = cgroups.flatMap { path in ["cpu.cfs_quota_us", "cpu.max"].compactMap { try? String(contentsOfFile: "\(path)/\($0)", encoding: .utf8) } }
        #expect(quotas == ["50000\n"] || quotas == ["50000 100000\n"], "half a core of a 100 ms period: \(quotas)")
        // The same again changes nothing: no new version, no swap.
        let again = try fixture.baton(["app", "set", "web", "--env", "A=1"])
        #expect(again.stdout == "web: configuration 2 unchanged\n")
        #expect(try fixture.history().count == 1)
    }

    @Test func aConfigurationThatFailsItsHealthCheckLeavesBlueAndTheStoredConfigurationAsTheyWere() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        try fixture.baton(["app", "set", "web", "--health-timeout", "2", "--env", "A=1"])
        try fixture.baton(["deploy", "web", "site:1"])
        let blue = try fixture.servingSandbox()
        let failed = try fixture.baton(["app", "set", "web", "--env", "A=2", "--health-path", "/missing"], allowFailure: true)
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("error: deploy of web failed"), "\(failed.stderr)")
        #expect(fixture.get()?.body == "v1\n")
        #expect(try fixture.servingSandbox().id == blue.id)
        #expect(try fixture.servingEnvironment().contains("A=1"))
        let app = try fixture.inspect()
        #expect(app["config_version"] as? Int == 2 && app["env"] as? [String] == ["A=1"] && app["health_path"] is NSNull, "\(app)")
        let attempt = try fixture.history().first
        #expect(attempt?["outcome"] as? String == "failed")
        #expect(attempt?["config_version"] as? Int == 3 && attempt?["from_config_version"] as? Int == 2)
        // The next deploy starts with the configuration that serves, not the one that failed.
        try fixture.baton(["deploy", "web", "site:1"])
        #expect(try fixture.servingEnvironment().contains("A=1"))
    }

    @Test func anUpstreamAppTakesHealthAndDrainButNoSandboxSettings() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.baton(["app", "create", "old", "--host", "old.test", "--upstream", "127.0.0.1:9"])
        let drain = try fixture.baton(["app", "set", "old", "--drain-timeout", "5"])
        #expect(drain.stdout == "old: configuration 2 stored\n")
        #expect(try fixture.inspect("old")["drain_timeout"] as? Double == 5)
        let refused = try fixture.baton(["app", "set", "old", "--env", "A=1", "--pids", "9"], allowFailure: true)
        #expect(refused.status != 0)
        #expect(refused.stderr == "error: app old routes to an upstream outside Baton: --env, --pids apply only to sandbox apps\n")
        #expect(try fixture.inspect("old")["config_version"] as? Int == 2)
    }
}
