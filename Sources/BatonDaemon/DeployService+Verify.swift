import BatonControl
import BatonDeploy
import BatonOS
import BatonProxy
import BatonStore

/// `baton deploy APP REF --verify`: the same swap, measured from outside by a bounded load
/// through the daemon's own proxy listener with the app's Host header (`VerifyRun`). The
/// report is stored with the deployment; a failed verify is the CLI's exit status, not a
/// reason to undo the swap.
extension DeployService {
    func setVerifyEndpoint(_ endpoint: VerifyConnection.Endpoint, token: String) {
        verifyEndpoint = (endpoint, token)
    }

    /// A deploy (with this deploy's bake window, when given), verified when `verify` is given.
    func deploy(app name: String, ref: String, bake: BakeSettings? = nil, verify: VerifyOptions?) async throws -> DeploymentInfo {
        guard let verify else { return try await deploy(app: name, ref: ref, bake: bake) }
        let app = try sandboxApp(name)
        try checkVerify(verify, app: app)
        guard let verifyEndpoint, let host = app.hosts.first else {
            throw BatonError(.unavailable, "the daemon's proxy is not listening yet: retry the deploy")
        }
        let store = try ArtifactStore(root: root)
        let digest = try store.resolve(ref).digest
        let settingsFor = Self.withBake(bake, settingsLookup(app, store: store))
        let greenSettings = try settingsFor(digest, nil)
        let path = verify.path ?? greenSettings.healthPath
        let rate = verify.rate ?? VerifyReport.defaultRate
        let blue = try await routing.serving(app: name).flatMap { handle -> (handle: SandboxHandle, port: Int)? in
            guard let row = try? database.sandbox(id: handle.id) else { return nil }
            return (handle, row.port)
        }
        let groupOf: @Sendable (String) -> [SandboxHandle] = { [database, runtime] leader in
            let rows = (try? database.sandboxes(includeEnded: false)) ?? []
            return rows.filter { $0.id == leader || $0.replicaOf == leader }.compactMap { runtime.live(id: $0.id) }
        }
        let run = VerifyRun(blue: blue, greenPort: greenSettings.port, path: path, rate: rate, groupOf: groupOf) {
            VerifyLoad(endpoint: verifyEndpoint.endpoint, host: host, path: path, rate: rate, token: verifyEndpoint.token)
        }
        var info: DeploymentInfo
        do {
            info = try await outcome { [coordinator] in
                try await coordinator.deploy(app: name, to: digest, settingsFor: settingsFor, progress: { run.observe($0) })
            }
        } catch {
            _ = await run.finish()
            throw error
        }
        guard let report = await run.finish() else { return info }
        do {
            try database.setVerifyReport(report, deployment: info.id)
        } catch {
            logger.error("cannot store the verify report of deployment \(info.id): \(error)")
        }
        info.verify = report
        logger.info("verified deploy of \(name): \(report.requests) requests, \(report.failed) failed, \(report.non2xx) non-2xx")
        return info
    }

    /// Refuses bad `--verify` options, and an app no load can reach (no host name).
    func checkVerify(_ verify: VerifyOptions, app: AppInfo) throws {
        if let problem = verify.problem() { throw BatonError(.invalidArgument, problem) }
        guard !app.hosts.isEmpty else {
            throw BatonError(.invalidArgument, "app \(app.name) has no host name for --verify to send requests to: add one with 'baton app set \(app.name) --host NAME'")
        }
    }
}
