@testable import BatonDaemon
import BatonControl
import BatonApply
import BatonOS
import Synchronization
import Testing

/// Carrying out a plan: every step is tried, a failure is reported and does not stop the rest.
@Suite struct ApplyExecutorTests {
    @Test func aFailedSwapIsReportedAndTheOtherStepsStillRun() {
        let daemon = RecordingDaemon(failingDeploys: ["web"])
        let plan = ApplyPlan(steps: [
            ApplyStep(.remove, app: "stale"),
            ApplyStep(.create, app: "api", artifact: "site:2", toDigest: "sha256:2", spec: AppSpec(name: "api", hosts: ["api.test"])),
            ApplyStep(.swap, app: "web", artifact: "site:bad", fromDigest: "sha256:1", toDigest: "sha256:9"),
            ApplyStep(.swap, app: "www", artifact: "site:2", fromDigest: "sha256:1", toDigest: "sha256:2"),
            ApplyStep(.unchanged, app: "old"),
        ])
        let results = ApplyExecutor(control: daemon).run(plan)
        #expect(results.map(\.outcome) == ["succeeded", "succeeded", "failed", "succeeded", nil])
        #expect(results[2].reason == "deploy failed: health check timed out")
        #expect(daemon.calls == ["remove stale", "create api", "deploy api site:2", "deploy web site:bad", "deploy www site:2"])
    }

    @Test func anAppWhoseUpdateFailedIsNotSwapped() {
        let daemon = RecordingDaemon(failingUpdates: ["web"])
        let plan = ApplyPlan(steps: [
            ApplyStep(.update, app: "web", changes: ["hosts"], spec: AppSpec(name: "web", hosts: ["web.test"])),
            ApplyStep(.swap, app: "web", artifact: "site:1", fromDigest: "sha256:1", toDigest: "sha256:1", changes: ["env"]),
        ])
        let results = ApplyExecutor(control: daemon).run(plan)
        #expect(results.map(\.outcome) == ["failed", "skipped"])
        #expect(results[0].reason == "host web.test is already used by app other")
        #expect(daemon.calls == ["update web"])
    }

    @Test func aConfigurationChangeIsOneSwapWithTheFilesConfigurationAndArtifact() {
        let daemon = RecordingDaemon(failingDeploys: ["api"])
        let spec = AppSpec(name: "web", hosts: ["web.test"], env: ["A=2"], secrets: ["TOKEN=t"])
        let plan = ApplyPlan(steps: [
            ApplyStep(.swap, app: "web", artifact: "site:2", fromDigest: "sha256:1", toDigest: "sha256:2", changes: ["env"], spec: spec),
            ApplyStep(.swap, app: "api", artifact: "site:1", fromDigest: "sha256:1", toDigest: "sha256:1", changes: ["secrets"],
                      spec: AppSpec(name: "api", hosts: ["api.test"], secrets: ["TOKEN=t"])),
            ApplyStep(.update, app: "old", changes: ["hosts", "drain"], spec: AppSpec(name: "old", hosts: ["o.test"], drainTimeout: 5)),
        ])
        let results = ApplyExecutor(control: daemon).run(plan)
        #expect(results.map(\.outcome) == ["succeeded", "failed", "succeeded"])
        #expect(daemon.calls == ["configure web site:2", "configure api site:1", "update old", "configure old -"])
        #expect(daemon.requests.first?.replacement == AppConfig(spec))
        #expect(daemon.requests.last?.replacement?.drainTimeout == 5)
    }
}

/// A daemon that records what it is asked and fails where told.
final class RecordingDaemon: AppControl {
    let failingDeploys: Set<String>
    let failingUpdates: Set<String>
    private let log = Mutex<[String]>([])
    private let received = Mutex<[AppConfigRequest]>([])

    init(failingDeploys: Set<String> = [], failingUpdates: Set<String> = []) {
        self.failingDeploys = failingDeploys
        self.failingUpdates = failingUpdates
    }

    var calls: [String] { log.withLock { $0 } }
    var requests: [AppConfigRequest] { received.withLock { $0 } }

    func configure(app: String, _ request: AppConfigRequest) throws -> AppConfigResult {
        log.withLock { $0.append("configure \(app) \(request.ref ?? "-")") }
        received.withLock { $0.append(request) }
        return AppConfigResult(app: info(AppSpec(name: app, hosts: [])), configVersion: 2, changes: [],
                               deployment: request.ref.map { _ in record(app) })
    }

    func createApp(_ spec: AppSpec) throws -> AppInfo {
        log.withLock { $0.append("create \(spec.name)") }
        return info(spec)
    }

    func updateApp(_ spec: AppSpec) throws -> AppInfo {
        log.withLock { $0.append("update \(spec.name)") }
        if failingUpdates.contains(spec.name) { throw BatonError(.conflict, "host web.test is already used by app other") }
        return info(spec)
    }

    func removeApp(named name: String) throws {
        log.withLock { $0.append("remove \(name)") }
    }

    func deploy(app: String, ref: String) throws -> DeploymentInfo {
        log.withLock { $0.append("deploy \(app) \(ref)") }
        return record(app)
    }

    private func record(_ app: String) -> DeploymentInfo {
        let failed = failingDeploys.contains(app)
        return DeploymentInfo(id: 1, app: app, fromDigest: nil, toDigest: "sha256:0", outcome: failed ? "failed" : "succeeded",
                              reason: failed ? "health check timed out" : nil, startedAt: "", finishedAt: nil, phases: [], logLines: nil)
    }

    private func info(_ spec: AppSpec) -> AppInfo {
        AppInfo(name: spec.name, hosts: spec.hosts, kind: .sandbox, digest: nil, upstream: nil, port: nil, healthPath: nil,
                healthStatus: 200, healthTimeout: 30, drainTimeout: 30, memory: nil, pids: nil, env: [], createdAt: "", inFlight: 0)
    }
}
