import BatonControl
import BatonApply
@testable import BatonDaemon
import BatonOS
import Testing

/// The plan: from a resolved file and the daemon's apps to create / swap / update / remove.
@Suite struct ApplyPlanTests {
    static let d1 = "sha256:" + String(repeating: "1", count: 64)
    static let d2 = "sha256:" + String(repeating: "2", count: 64)

    @Test func createsMissingAppsAndLeavesMatchingOnesAlone() throws {
        let desired = [sandbox("web", digest: Self.d1), upstream("old")]
        let plan = try ApplyPlan.make(desired: desired, current: [info("old", kind: .upstream, upstream: "127.0.0.1:9000")], prune: false)
        #expect(plan.steps.map(\.action) == [.create, .unchanged])
        #expect(plan.steps[0].toDigest == Self.d1)
        #expect(plan.steps[0].artifact == "web:1")
        #expect(plan.changes.map(\.app) == ["web"])
    }

    @Test func reapplyingTheSameFileChangesNothing() throws {
        let plan = try ApplyPlan.make(desired: [sandbox("web", digest: Self.d1)], current: [info("web", digest: Self.d1)], prune: false)
        #expect(plan.changes.isEmpty)
        #expect(plan.steps.map(\.action) == [.unchanged])
    }

    @Test func aNewDigestIsASwapFromTheServingOne() throws {
        let plan = try ApplyPlan.make(desired: [sandbox("web", digest: Self.d2)], current: [info("web", digest: Self.d1)], prune: false)
        #expect(plan.steps == [ApplyStep(.swap, app: "web", artifact: "web:1", fromDigest: Self.d1, toDigest: Self.d2,
                                         spec: AppSpec(name: "web", hosts: ["web.test"]))])
        // An app created but never deployed swaps from nothing.
        let fresh = try ApplyPlan.make(desired: [sandbox("web", digest: Self.d2)], current: [info("web", digest: nil)], prune: false)
        #expect(fresh.steps.map(\.action) == [.swap])
        #expect(fresh.steps[0].fromDigest == nil)
    }

    @Test func changedHostsAreAnUpdateAndTheConfigurationRidesTheSwap() throws {
        var app = sandbox("web", digest: Self.d2)
        app.declared.spec.hosts.append("www.test")
        app.declared.spec.healthTimeout = 5
        app.declared.spec.env = ["B=2"]
        let plan = try ApplyPlan.make(desired: [app], current: [info("web", digest: Self.d1)], prune: false)
        #expect(plan.steps.map(\.action) == [.update, .swap])
        #expect(plan.steps[0].changes == ["hosts"])
        #expect(plan.steps[0].spec == app.declared.spec)
        #expect(plan.steps[1].changes == ["health.timeout", "env"])
        #expect(plan.steps[1].spec == app.declared.spec, "one swap brings the new digest and the new configuration")
        #expect(plan.steps[1].detail.hasSuffix("to apply health.timeout, env"))
    }

    @Test func anUpstreamAppsSettingsAreUpdatedInPlace() throws {
        var app = upstream("old")
        app.declared.spec.drainTimeout = 5
        let plan = try ApplyPlan.make(desired: [app], current: [info("old", kind: .upstream, upstream: "127.0.0.1:9000")], prune: false)
        #expect(plan.steps.map(\.action) == [.update])
        #expect(plan.steps[0].changes == ["drain"])
    }

    @Test func secretsChangeByNameOrWhenTheDaemonSaysTheirValuesDiffer() throws {
        var app = sandbox("web", digest: Self.d1)
        app.declared.spec.secrets = ["TOKEN=new"]
        var current = info("web", digest: Self.d1)
        current.secrets = ["TOKEN=<secret>"]
        let same = try ApplyPlan.make(desired: [app], current: [current], prune: false)
        #expect(same.changes.isEmpty, "no value comes back from the daemon to compare")
        app.secretValuesChanged = true
        let changed = try ApplyPlan.make(desired: [app], current: [current], prune: false)
        #expect(changed.steps == [ApplyStep(.swap, app: "web", artifact: "web:1", fromDigest: Self.d1, toDigest: Self.d1,
                                            changes: ["secrets"], spec: app.declared.spec)])
        app.secretValuesChanged = false
        app.declared.spec.secrets = ["OTHER=x"]
        #expect(try ApplyPlan.make(desired: [app], current: [current], prune: false).changes.map(\.changes) == [["secrets"]])
    }

    @Test func aChangedSandboxSettingRestartsTheServingDigest() throws {
        var app = sandbox("web", digest: Self.d1)
        app.declared.spec.env = ["A=1"]
        app.declared.spec.healthPath = "/ready"
        let plan = try ApplyPlan.make(desired: [app], current: [info("web", digest: Self.d1)], prune: false)
        #expect(plan.steps == [ApplyStep(.swap, app: "web", artifact: "web:1", fromDigest: Self.d1, toDigest: Self.d1,
                                         changes: ["health.path", "env"], spec: app.declared.spec)])
        // Health settings are configuration too: a new version, swapped in like `app set`.
        app.declared.spec.env = []
        let healthOnly = try ApplyPlan.make(desired: [app], current: [info("web", digest: Self.d1)], prune: false)
        #expect(healthOnly.steps.map(\.action) == [.swap])
        #expect(healthOnly.steps[0].changes == ["health.path"])
    }

    @Test func changedVolumesRestartTheServingDigestAndAStrategyIsOnlyAnUpdate() throws {
        var app = sandbox("web", digest: Self.d1)
        app.declared.spec.volumes = [AppVolume(name: "data", path: "/data")]
        app.declared.spec.strategy = .stopFirst
        let plan = try ApplyPlan.make(desired: [app], current: [info("web", digest: Self.d1)], prune: false)
        #expect(plan.steps.map(\.action) == [.update, .swap])
        #expect(plan.steps[0].changes == ["volumes", "strategy"])
        #expect(plan.steps[1].changes == ["volumes"])
        app.declared.spec.volumes = []
        let strategyOnly = try ApplyPlan.make(desired: [app], current: [info("web", digest: Self.d1)], prune: false)
        #expect(strategyOnly.steps.map(\.action) == [.update])
        // The stored defaults are what a file that leaves them out means.
        app.declared.spec.strategy = .blueGreen
        app.declared.spec.holdTimeout = AppSpec.defaultHoldTimeout
        #expect(try ApplyPlan.make(desired: [app], current: [info("web", digest: Self.d1)], prune: false).changes.isEmpty)
    }

    @Test func defaultsInTheFileMatchTheDaemonsDefaults() throws {
        var app = sandbox("web", digest: Self.d1)
        app.declared.spec.healthStatus = 200
        app.declared.spec.drainTimeout = 30
        let plan = try ApplyPlan.make(desired: [app], current: [info("web", digest: Self.d1)], prune: false)
        #expect(plan.changes.isEmpty)
    }

    @Test func appsAbsentFromTheFileAreRemovedOnlyWithPrune() throws {
        let current = [info("web", digest: Self.d1), info("stale", digest: Self.d1, hosts: ["stale.test"])]
        let kept = try ApplyPlan.make(desired: [sandbox("web", digest: Self.d1)], current: current, prune: false)
        #expect(kept.changes.isEmpty)
        let pruned = try ApplyPlan.make(desired: [sandbox("web", digest: Self.d1)], current: current, prune: true)
        #expect(pruned.changes == [ApplyStep(.remove, app: "stale", fromDigest: Self.d1)])
    }

    @Test func removalsComeFirstSoTheirHostsAreFree() throws {
        let current = [info("stale", digest: Self.d1, hosts: ["web.test"])]
        let plan = try ApplyPlan.make(desired: [sandbox("web", digest: Self.d1)], current: current, prune: true)
        #expect(plan.steps.map(\.action) == [.remove, .create])
    }

    @Test func aHostKeptByAnUndeclaredAppIsRefusedWithoutPrune() {
        let current = [info("stale", digest: Self.d1, hosts: ["web.test"])]
        #expect {
            try ApplyPlan.make(desired: [sandbox("web", digest: Self.d1)], current: current, prune: false)
        } throws: { error in
            (error as? BatonError)?.message == "baton.yml:2:3: app web: host web.test is used by app stale, which the file does not declare: remove it, or apply with --prune"
        }
    }

    @Test func aChangeOfKindIsRefusedNamingThePlace() {
        #expect {
            try ApplyPlan.make(desired: [upstream("web")], current: [info("web", digest: Self.d1)], prune: false)
        } throws: { error in
            (error as? BatonError)?.message.hasPrefix("baton.yml:2:3: app web is of kind 'sandbox' on the daemon and 'upstream' in the file") == true
        }
    }

    private func sandbox(_ name: String, digest: String) -> ResolvedApp {
        let spec = AppSpec(name: name, hosts: ["\(name).test"])
        return ResolvedApp(declared: DeclaredApp(spec: spec, artifact: "\(name):1", location: SourceLocation(file: "baton.yml", line: 2, column: 3)),
                           digest: digest)
    }

    private func upstream(_ name: String) -> ResolvedApp {
        let spec = AppSpec(name: name, hosts: ["\(name).test"], upstream: "127.0.0.1:9000")
        return ResolvedApp(declared: DeclaredApp(spec: spec, artifact: nil, location: SourceLocation(file: "baton.yml", line: 2, column: 3)),
                           digest: nil)
    }

    private func info(_ name: String, kind: AppInfo.Kind = .sandbox, digest: String? = nil, upstream: String? = nil,
                      hosts: [String]? = nil) -> AppInfo {
        AppInfo(name: name, hosts: hosts ?? ["\(name).test"], kind: kind, digest: digest, upstream: upstream, port: nil,
                healthPath: nil, healthStatus: 200, healthTimeout: 30, drainTimeout: 30, memory: nil, pids: nil, env: [],
                createdAt: "2026-01-01T00:00:00Z", inFlight: 0)
    }
}
