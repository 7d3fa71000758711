import BatonDeploy
import BatonOS
import BatonSandbox
import Foundation

/// What a new daemon does with what the last one left (DESIGN.md invariant 4): sandboxes
/// still running are adopted, a serving sandbox that is gone is restarted from its digest,
/// a half-deployed green is destroyed, an unfinished deployment is recorded as interrupted.
extension DeployService {
    func recover() async {
        // Before any sandbox is adopted, so an exit during recovery is acted on too.
        let routes = routing.service.routes
        let logger = self.logger
        runtime.setExitHandler { [weak self, weak routes] sandbox in
            // At once, on the watcher's thread: from now on the app answers 503, not whatever
            // a connection to the dead sandbox's namespace would give, until a restart is healthy.
            do {
                try routes?.reload()
            } catch {
                logger.error("cannot reload the routes after sandbox \(sandbox.id) exited: \(error)")
            }
            guard let self else { return }
            Task { await self.sandboxExited(sandbox) }
        }
        do {
            for deployment in try database.interruptRunningDeployments() {
                logger.warning("deployment \(deployment.id) of \(deployment.app) was interrupted by a daemon restart")
            }
            var alive = Set<String>()
            for row in try database.sandboxes(includeEnded: false) {
                if let sandbox = try? Sandbox.adopt(root: root, id: row.id), adopt(sandbox, row) {
                    alive.insert(row.id)
                } else {
                    try database.endSandbox(id: row.id, state: "lost", exitStatus: nil)
                    runtime.forgetEnded(app: row.app)
                    logger.warning("sandbox \(row.id) of \(row.app) was gone after the restart")
                }
            }
            await stopStrays(known: Set(try database.sandboxes(includeEnded: true).map(\.id)))
            for app in try database.listApps() where app.kind == .sandbox {
                let serving = try database.servingSandbox(app: app.name)
                let group = Set(try database.servingGroup(app: app.name).map(\.id))
                // Greens of an interrupted swap, and anything else not serving: one group per app.
                for row in try database.sandboxes(includeEnded: false) where row.app == app.name && !group.contains(row.id) {
                    await runtime.stop(id: row.id, app: row.app, grace: .seconds(5))
                    logger.info("stopped \(row.id), which did not serve \(app.name)")
                }
                guard let serving else { continue }
                let running = group.filter(alive.contains)
                if running.isEmpty {
                    restart(app: app.name, digest: serving.digest,
                            cause: "sandbox \(serving.id) was gone when the daemon started")
                } else {
                    // Replicas lost while the daemon was down come back one by one.
                    for _ in running.count..<max(running.count, app.replicas) {
                        restartReplica(app: app.name, group: serving.id, digest: serving.digest, configVersion: serving.configVersion,
                                       cause: "a replica of \(serving.id) was gone when the daemon started")
                    }
                }
            }
        } catch {
            logger.error("recovery after restart failed: \(error)")
        }
    }

    /// Holds an adopted sandbox's namespace and watches it; false (and it is cleaned up) when
    /// it exited between its adoption and now.
    private func adopt(_ sandbox: Sandbox, _ row: SandboxRow) -> Bool {
        do {
            _ = try runtime.adopt(sandbox, app: row.app, digest: row.digest, configVersion: row.configVersion)
            logger.notice("adopted sandbox \(row.id) of \(row.app), still running from the last daemon")
            return true
        } catch {
            sandbox.destroy()
            return false
        }
    }

    /// A serving sandbox that exited on its own is restarted from the same digest, through
    /// the same health gate, with a backoff growing to 30 s while restarts keep failing.
    func sandboxExited(_ sandbox: SandboxHandle) async {
        guard let serving = (try? database.servingSandbox(app: sandbox.app)) ?? nil else { return }
        let member = serving.id == sandbox.id || (try? database.sandbox(id: sandbox.id))??.replicaOf == serving.id
        guard member else { return }
        // Bake (part 3): green exiting in its bake window is rolled back to blue, not restarted.
        guard await !coordinator.baking(sandbox.app) else { return }
        let how = await runtime.exitReason(of: sandbox) ?? "it exited"
        let cause = "serving sandbox \(sandbox.id) died: \(how)"
        let others = ((try? database.servingGroup(app: sandbox.app)) ?? []).filter { $0.id != sandbox.id && runtime.live(id: $0.id) != nil }
        if others.isEmpty {
            restart(app: sandbox.app, digest: sandbox.digest, cause: cause)
        } else {
            // One replica of several: the others serve on; only it comes back.
            restartReplica(app: sandbox.app, group: serving.id, digest: sandbox.digest, configVersion: sandbox.configVersion, cause: cause)
        }
    }

    /// The daemon is stopping: no restart starts from now on, and the sandboxes are let go to
    /// keep serving until the next daemon adopts them.
    func shutDown() {
        stopping = true
        handOffPending = false
        runtime.detachAll()
    }

    /// A hand-off failed after `shutDown`: the sandboxes are adopted again, as at a start.
    func resume() async {
        stopping = false
        await recover()
    }

    /// A hand-off is being prepared: restarts wait from now on, and this returns once no swap
    /// (deploy, rollback, restart, bake window) and no replica restart runs. The control gate
    /// holds the requests that would start one.
    func pauseForHandOff() async {
        handOffPending = true
        while true {
            let swaps = await coordinator.inProgress()
            if swaps.isEmpty, restartsRunning == 0 { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The hand-off failed before this daemon let go: waiting restarts go on.
    func endHandOffPause() {
        handOffPending = false
    }

    /// Waits out a hand-off being prepared; then true (counted until `restartEnded`) unless
    /// the daemon stops or has handed over, when the restart is the next daemon's to make.
    func restartMayBegin() async -> Bool {
        while handOffPending {
            try? await Task.sleep(for: .milliseconds(20))
        }
        guard !stopping else { return false }
        restartsRunning += 1
        return true
    }

    func restartEnded() {
        restartsRunning -= 1
    }

    /// Each attempt is a deployment recorded with trigger `restart` and `cause` (which sandbox
    /// died, and how) as its detail.
    private func restart(app: String, digest: String, cause: String) {
        guard !stopping else { return }
        let failures = restartFailures(app)
        let delay = failures == 0 ? 0 : min(30.0, pow(2, Double(failures - 1)))
        logger.warning("restarting \(app) from \(digest) in \(delay) s")
        Task {
            if delay > 0 { try? await Task.sleep(for: .milliseconds(Int64(delay * 1000))) }
            guard await restartMayBegin() else { return }
            defer { restartEnded() }
            do {
                let info = try await DeploymentCause.$current.withValue(DeploymentCause(trigger: .restart, detail: cause)) {
                    try await deploy(app: app, ref: digest)
                }
                recordRestart(app: app, succeeded: info.outcome == DeploymentOutcome.succeeded.rawValue)
                if info.outcome == DeploymentOutcome.succeeded.rawValue {
                    logger.notice("restarted \(app) from \(digest): \(cause)")
                }
                if info.outcome != DeploymentOutcome.succeeded.rawValue { restartAgain(app: app, digest: digest, cause: cause) }
            } catch {
                logger.error("restart of \(app) failed: \(error)")
                recordRestart(app: app, succeeded: false)
                restartAgain(app: app, digest: digest, cause: cause)
            }
        }
    }

    private func restartAgain(app: String, digest: String, cause: String) {
        // Only while the app still has nothing serving: a deploy in between wins.
        guard ((try? database.servingGroup(app: app)) ?? []).isEmpty else { return }
        restart(app: app, digest: digest, cause: cause)
    }

    /// Sandbox directories no row knows (a daemon killed between launch and record).
    private func stopStrays(known: Set<String>) async {
        let entries = (try? DirectoryListing.names("\(root)/sandboxes")) ?? []
        for id in entries where !known.contains(id) {
            guard let sandbox = try? Sandbox.adopt(root: root, id: id) else { continue }
            await DetachedThread.run {
                sandbox.stop(grace: 5)
                sandbox.destroy()
            }
            logger.info("stopped stray sandbox \(id)")
        }
    }
}
