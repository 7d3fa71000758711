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
                // Greens of an interrupted swap, and anything else not serving: one sandbox per app.
                for row in try database.sandboxes(includeEnded: false) where row.app == app.name && row.id != serving?.id {
                    await runtime.stop(id: row.id, app: row.app, grace: .seconds(5))
                    logger.info("stopped \(row.id), which did not serve \(app.name)")
                }
                if let serving, !alive.contains(serving.id) {
                    restart(app: app.name, digest: serving.digest)
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
            return true
        } catch {
            sandbox.destroy()
            return false
        }
    }

    /// A serving sandbox that exited on its own is restarted from the same digest, through
    /// the same health gate, with a backoff growing to 30 s while restarts keep failing.
    func sandboxExited(_ sandbox: SandboxHandle) async {
        guard (try? database.servingSandbox(app: sandbox.app))??.id == sandbox.id else { return }
        // Bake (part 3): green exiting in its bake window is rolled back to blue, not restarted.
        guard await !coordinator.baking(sandbox.app) else { return }
        restart(app: sandbox.app, digest: sandbox.digest)
    }

    /// The daemon is stopping: no restart starts from now on, and the sandboxes are let go to
    /// keep serving until the next daemon adopts them.
    func shutDown() {
        stopping = true
        runtime.detachAll()
    }

    private func restart(app: String, digest: String) {
        guard !stopping else { return }
        let failures = restartFailures(app)
        let delay = failures == 0 ? 0 : min(30.0, pow(2, Double(failures - 1)))
        logger.warning("restarting \(app) from \(digest) in \(delay) s")
        Task {
            if delay > 0 { try? await Task.sleep(for: .milliseconds(Int64(delay * 1000))) }
            guard !stopping else { return }
            do {
                let info = try await deploy(app: app, ref: digest)
                recordRestart(app: app, succeeded: info.outcome == DeploymentOutcome.succeeded.rawValue)
                if info.outcome != DeploymentOutcome.succeeded.rawValue { restartAgain(app: app, digest: digest) }
            } catch {
                logger.error("restart of \(app) failed: \(error)")
                recordRestart(app: app, succeeded: false)
                restartAgain(app: app, digest: digest)
            }
        }
    }

    private func restartAgain(app: String, digest: String) {
        // Only while the app still has nothing serving: a deploy in between wins.
        guard (try? database.servingSandbox(app: app))??.state != "running" else { return }
        restart(app: app, digest: digest)
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
