import BatonDeploy
import BatonOS
import BatonStore
import Foundation

/// One replica of an app's serving group died while others serve (`--replicas N`): only it is
/// started again, from the group's digest and configuration, through the same health gate,
/// and added back to the route. The others serve meanwhile; the proxy dropped the dead one
/// from the route the moment the daemon saw it exit.
extension DeployService {
    /// Starts a replacement for a dead replica of group `group`, after the app's restart
    /// backoff; tried again (backing off further) while it fails and the group still serves.
    func restartReplica(app: String, group: String, digest: String, configVersion: Int64?, cause: String) {
        guard !stopping else { return }
        let failures = restartFailures(app)
        let delay = failures == 0 ? 0 : min(30.0, pow(2, Double(failures - 1)))
        logger.warning("restarting a replica of \(app) from \(digest) in \(delay) s")
        Task {
            if delay > 0 { try? await Task.sleep(for: .milliseconds(Int64(delay * 1000))) }
            guard await restartMayBegin() else { return }
            defer { restartEnded() }
            guard groupServes(app: app, group: group) else { return }
            do {
                try await DeploymentCause.$current.withValue(DeploymentCause(trigger: .restart, detail: cause)) {
                    try await replaceReplica(app: app, group: group, digest: digest, configVersion: configVersion)
                }
                recordRestart(app: app, succeeded: true)
            } catch {
                logger.error("restart of a replica of \(app) failed: \(error)")
                recordRestart(app: app, succeeded: false)
                restartReplica(app: app, group: group, digest: digest, configVersion: configVersion, cause: cause)
            }
        }
    }

    /// Whether `group` still serves `app` with no swap of it under way: a deploy in between
    /// replaces the whole group, and a replica added to the old one would be left behind.
    private func groupServes(app: String, group: String) -> Bool {
        (try? database.servingSandbox(app: app))??.id == group
    }

    /// Starts, health-checks and routes one replica, recorded as a deployment (trigger
    /// `restart`) of the same digest: `started`, `healthy`, `routed`. On failure the replica is
    /// stopped, the record says why, and the error is thrown.
    private func replaceReplica(app name: String, group: String, digest: String, configVersion: Int64?) async throws {
        let app = try sandboxApp(name)
        let settings = try settingsLookup(app, store: try ArtifactStore(root: root))(digest, configVersion)
        let recorder = DeploymentRepository(database: database)
        let id = try await recorder.begin(app: name, from: digest, to: digest, fromConfig: configVersion, toConfig: configVersion, at: Date())
        let begun = ContinuousClock.now
        /// Records `phase` as completed now, timed from `since`; returns now.
        func complete(_ phase: DeployPhase, since: ContinuousClock.Instant, _ detail: String?) async -> ContinuousClock.Instant {
            let now = ContinuousClock.now
            try? await recorder.record(PhaseRecord(phase: phase, completedAt: Date(), duration: now - since, detail: detail), deployment: id)
            return now
        }
        var replica: SandboxHandle?
        do {
            let started = try await runtime.startReplica(of: group, app: name, digest: digest, configVersion: configVersion)
            replica = started
            let startedAt = await complete(.started, since: begun, started.id)
            let report = try await HealthChecker(policy: settings.health).waitUntilHealthy(
                SwapCoordinator.httpProbe(started, settings), exitReason: { [runtime] in await runtime.exitReason(of: started) })
            guard report.verdict == .healthy else {
                throw BatonError(.setupFailed, "replica \(started.id) did not become healthy: \(report.verdict) (\(report.attempts) checks, last: \(report.lastResult.map(String.init(describing:)) ?? "none"))")
            }
            let healthyAt = await complete(.healthy, since: startedAt, "\(report.attempts) checks")
            // A swap that began meanwhile replaces the group: this replica is not wanted.
            guard groupServes(app: name, group: group), await coordinator.status(of: name) == nil else {
                throw BatonError(.conflict, "a deploy of \(name) replaced the group of \(group) meanwhile")
            }
            try await routing.service.reloadRoutes()
            _ = await complete(.routed, since: healthyAt, started.id)
            try await recorder.finish(deployment: id, outcome: .succeeded, reason: nil, at: Date())
            logger.info("replica \(started.id) of \(name) replaces a dead one in group \(group)")
        } catch {
            if let replica { await runtime.stop(replica, grace: settings.stopGrace) }
            try? await recorder.finish(deployment: id, outcome: .failed, reason: "\(error)", at: Date())
            throw error
        }
    }
}
