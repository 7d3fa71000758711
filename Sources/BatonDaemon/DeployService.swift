import BatonControl
import BatonDeploy
import BatonOS
import BatonSandbox
import BatonStore
import Foundation
import Logging

/// Deploys, rollbacks, history and sandboxes behind the control API: resolves artifact
/// references, derives each swap's settings from the app and the artifact, and hands the
/// swap itself to BatonDeploy's coordinator.
actor DeployService {
    let root: String
    let database: StateDatabase
    let runtime: SandboxRuntimeService
    let routing: SandboxRouting
    let coordinator: SwapCoordinator
    let logger: Logger
    /// The health checks of each app's running deploy, for `baton deploy`'s progress lines.
    let healthWaits = HealthWaits()
    /// Consecutive failed restarts per app, for the backoff.
    private var failedRestarts: [String: Int] = [:]
    /// Set by `shutDown`: no restart begins after it.
    var stopping = false
    /// A hand-off is being prepared: restarts wait (`restartMayBegin`).
    var handOffPending = false
    /// Restarts of crashed sandboxes and replicas under way now.
    var restartsRunning = 0
    /// verify: where `--verify`'s load connects (the proxy's listener) and the proxy's token;
    /// set by `Daemon.start` once the proxy listens.
    var verifyEndpoint: (endpoint: VerifyConnection.Endpoint, token: String)?

    func restartFailures(_ app: String) -> Int { failedRestarts[app] ?? 0 }

    func recordRestart(app: String, succeeded: Bool) {
        failedRestarts[app] = succeeded ? 0 : (failedRestarts[app] ?? 0) + 1
    }

    init(root: String, database: StateDatabase, service: ControlService, runtime: SandboxRuntimeService, logger: Logger) {
        self.root = root
        self.database = database
        self.logger = logger
        self.runtime = runtime
        routing = SandboxRouting(database: database, runtime: runtime, service: service)
        coordinator = SwapCoordinator(runtime: runtime, routes: routing, drainer: routing,
                                      recorder: DeploymentRepository(database: database), holder: routing, logger: logger,
                                      traffic: routing)
    }

    /// Swaps `app` to the artifact `ref` names, with the app's current configuration. A failed
    /// health check is an outcome, not an error: the record says why and carries the new
    /// sandbox's last log lines.
    func deploy(app name: String, ref: String, bake: BakeSettings? = nil) async throws -> DeploymentInfo {
        let app = try sandboxApp(name)
        let store = try ArtifactStore(root: root)
        let digest = try store.resolve(ref).digest
        let settingsFor = Self.withBake(bake, settingsLookup(app, store: store))
        return try await outcome { [coordinator, healthWaits] in
            try await coordinator.deploy(app: name, to: digest, settingsFor: settingsFor, progress: healthWaits.observer(app: name))
        }
    }

    /// Swaps back to the digest and configuration served before the current ones, or to `ref`
    /// with the current configuration. The coordinator picks the earlier ones under the app's
    /// deploy lock, against the route it replaces.
    func rollback(app name: String, to ref: String?) async throws -> DeploymentInfo {
        let app = try sandboxApp(name)
        let store = try ArtifactStore(root: root)
        let digest = try ref.map { try store.resolve($0).digest }
        let settingsFor = settingsLookup(app, store: store)
        return try await DeploymentCause.$current.withValue(DeploymentCause(trigger: .rollback, detail: nil)) {
            try await outcome { [coordinator] in
                try await coordinator.rollback(app: name, to: digest, settingsFor: settingsFor)
            }
        }
    }

    func outcome(of swap: () async throws -> DeploymentRecord) async throws -> DeploymentInfo {
        do {
            let record = try await swap()
            return try latest(id: record.id)
        } catch let error as BatonError {
            guard let failure = error.deployFailure else { throw error }
            var info = try latest(id: failure.record?.id)
            info.logLines = failure.logLines
            if info.reason == nil { info.reason = failure.reason }
            return info
        }
    }

    private func latest(id: Int64?) throws -> DeploymentInfo {
        guard let id, let info = try database.deployment(id: id) else {
            throw BatonError(.internal, "the deployment was not recorded")
        }
        return info
    }

    func history(app: String?) throws -> [DeploymentInfo] {
        if let app, try database.app(named: app) == nil, try database.deployments(app: app).isEmpty {
            throw ControlService.noSuchApp(app)
        }
        return healthWaits.annotate(try database.deployments(app: app))
    }

    func sandboxes(all: Bool) async throws -> [SandboxInfo] {
        let apps = try database.listApps()
        let serving = Set(try apps.flatMap { try database.servingGroup(app: $0.name).map(\.id) })
        let now = Date()
        // Bake (part 3): blue kept ready during a bake window shows as baking.
        let baking = Set(await coordinator.inProgress().filter { $0.blueState == .baking }.compactMap { $0.blue?.id })
        var result: [SandboxInfo] = []
        for row in try database.sandboxes(includeEnded: all) {
            let live = runtime.sandbox(id: row.id)
            let health = row.state == "running" ? await check(row, app: apps.first { $0.name == row.app }) : nil
            var info = SandboxInfo(
                id: row.id, app: row.app, artifact: row.artifact, digest: row.digest,
                state: row.state == "running" && baking.contains(row.id) ? "baking" : row.state,
                serving: serving.contains(row.id), health: health, pid: row.state == "running" ? row.pid : nil, createdAt: row.createdAt,
                uptimeSeconds: row.state == "running" ? Timestamp.date(row.createdAt).map { now.timeIntervalSince($0) } : nil,
                memoryBytes: live?.cgroup.memoryUsage.map { Int64($0) },
                logPath: SandboxLog(directory: SandboxLog.directory(root: root, id: row.id)).path)
            info.exitStatus = row.exitStatus
            info.exitSignal = row.exitSignal
            info.replicaOf = row.replicaOf
            result.append(info)
        }
        return result
    }

    /// One health check of a running sandbox, as the deploy gate makes it (short deadline).
    private func check(_ row: SandboxRow, app: AppInfo?) async -> String {
        guard let live = runtime.live(id: row.id) else { return "unknown" }
        let path = app?.healthPath ?? (try? ArtifactStore(root: root).resolve(row.digest).config.healthPath) ?? "/"
        let probe = HTTPHealthProbe.loopback(port: row.port, path: path, in: live.network, h2c: app?.upstreamProtocol == .h2c)
        switch await probe.check(timeout: .milliseconds(500)) {
        case .responded(let status) where status == (app?.healthStatus ?? AppSpec.defaultHealthStatus): return "healthy"
        case .responded(let status): return "unhealthy: \(path) answered \(status)"
        case .failed(let reason): return "unhealthy: \(reason)"
        }
    }

    /// Stops one sandbox; an app it served is left with no target (503) until the next deploy.
    func stop(sandbox id: String) async throws {
        guard let row = try database.sandbox(id: id), row.state == "running", row.pid != nil else {
            throw BatonError(.notFound, "no running sandbox \(id): see 'baton ps'")
        }
        let group = try database.servingGroup(app: row.app)
        if group.contains(where: { $0.id == id }) {
            // The last replica serving: the app serves nothing. One of several: the others go on.
            if group.count == 1 { try database.setServing(app: row.app, sandbox: nil) }
            await runtime.stop(id: row.id, app: row.app, grace: .seconds(10))
            try await routing.service.reloadRoutes()
            return
        }
        await runtime.stop(id: row.id, app: row.app, grace: .seconds(10))
    }

    /// Before `app` is removed: stops its running sandboxes and forgets all its sandboxes,
    /// their records and their logs.
    func removeSandboxes(of app: String) async throws {
        if try database.app(named: app) != nil { try database.setServing(app: app, sandbox: nil) }
        for row in try database.sandboxes(includeEnded: false) where row.app == app {
            await runtime.stop(id: row.id, app: row.app, grace: .seconds(10))
        }
        runtime.forgetEnded(app: app, keep: 0)
    }

    func sandboxApp(_ name: String) throws -> AppInfo {
        guard let app = try database.app(named: name) else { throw ControlService.noSuchApp(name) }
        guard app.kind == .sandbox else {
            throw BatonError(.invalidArgument, "app \(name) routes to an upstream; create a sandbox app to deploy artifacts")
        }
        return app
    }

    /// The settings of `app`'s sandbox of a digest at a configuration version (nil: the current
    /// one), read when asked: under the app's deploy lock, as the coordinator asks.
    func settingsLookup(_ app: AppInfo, store: ArtifactStore) -> SettingsLookup {
        { [database] digest, version in
            let (chosen, config) = try database.config(app: app.name, version: version)
            return try Self.settings(for: app.with(config), version: chosen, artifact: try store.resolve(digest))
        }
    }

    /// The app's settings at configuration `version`, with port and health path defaulting to
    /// the artifact's.
    static func settings(for app: AppInfo, version: Int64?, artifact: ResolvedArtifact) throws -> DeploySettings {
        guard let port = app.port ?? artifact.config.exposedPorts.first else {
            throw BatonError(.invalidArgument, "app \(app.name) has no port and \(artifact.digest) records none: create the app with --port or publish with --port")
        }
        let health = HealthCheckPolicy(expectedStatus: app.healthStatus, timeout: .milliseconds(Int64(app.healthTimeout * 1000)))
        let strategy: SwapStrategy = app.strategy == .stopFirst ? .stopFirst(holdTimeout: .milliseconds(Int64(app.holdTimeout * 1000))) : .blueGreen
        var settings = DeploySettings(port: port, healthPath: app.healthPath ?? artifact.config.healthPath ?? "/", health: health,
                                      drainTimeout: .milliseconds(Int64(app.drainTimeout * 1000)), strategy: strategy, configVersion: version)
        settings.h2c = app.upstreamProtocol == .h2c
        settings.drainLongTimeout = app.drainLongTimeout.map { .milliseconds(Int64($0 * 1000)) }
        settings.smoke = SmokeGate(checks: try SmokeCheck.parseAll(app.smoke), host: SmokeGate.host(for: app.hosts),
                                   proto: app.httpsRedirect ? "https" : "http")
        settings.bake = try app.bakeSettings.map(Self.policy)
        return settings
    }
}
