import BatonControl
import BatonDeploy
import BatonOS
import BatonStore
import Synchronization

/// A change of an app's configuration (`baton app set`, an apply file): a new immutable
/// version, swapped in like a deploy of the digest serving now (or of the one an apply file
/// names) through the same health gate. The version becomes the app's only when its sandbox
/// takes the route (`ConfigVersions.followServing`): a failed swap leaves blue serving and the
/// app's configuration as it was, the attempt in the history. An app that serves nothing
/// stores the version for its next deploy.
extension DeployService {
    func configure(app name: String, _ request: AppConfigRequest, peerIsRoot: Bool) async throws -> AppConfigResult {
        guard let app = try database.app(named: name) else { throw ControlService.noSuchApp(name) }
        // Before the lock, so an unknown artifact changes nothing.
        let store = try ArtifactStore(root: root)
        let artifact = try request.ref.map { try store.resolve($0) }
        if app.kind == .upstream {
            guard artifact == nil else {
                throw BatonError(.invalidArgument, "app \(name) routes to an upstream; create a sandbox app to deploy artifacts")
            }
            return try await storeUpstream(app, request, peerIsRoot: peerIsRoot)
        }
        if request.dryRun {
            let (version, current) = try database.config(app: name, version: nil)
            let (_, changes) = try Self.next(request, current: current, peerIsRoot: peerIsRoot)
            return try await result(name, version: version, changes: changes, deployment: nil)
        }
        let settingsFor = settingsLookup(app, store: store)
        let decision = ConfigDecision()
        do {
            let deployment = try await outcome { [coordinator, database] in
                try await coordinator.swap(app: name, progress: { _ in }, settingsFor: settingsFor) { blue in
                    // Under the app's deploy lock: no other swap or change can come in between.
                    let (currentVersion, current) = try database.config(app: name, version: nil)
                    let (next, changes) = try Self.next(request, current: current, peerIsRoot: peerIsRoot)
                    let digest = artifact?.digest ?? blue?.digest
                    if changes.isEmpty && digest == blue?.digest {
                        decision.set(currentVersion, [])
                        throw NoSwap()
                    }
                    let version = changes.isEmpty ? currentVersion : try database.insertConfig(app: name, next)
                    decision.set(version, changes)
                    guard let digest else {
                        try database.makeCurrentConfig(app: name, version: version)
                        throw NoSwap()
                    }
                    let settings = try Self.settings(for: app.with(next), version: version,
                                                     artifact: try artifact ?? store.resolve(digest))
                    return (digest, settings)
                }
            }
            return try await result(name, version: decision.version, changes: decision.changes, deployment: deployment)
        } catch is NoSwap {
            return try await result(name, version: decision.version, changes: decision.changes, deployment: nil)
        }
    }

    /// An upstream app has no sandbox to swap: its new configuration (health, drain) is stored.
    private func storeUpstream(_ app: AppInfo, _ request: AppConfigRequest, peerIsRoot: Bool) async throws -> AppConfigResult {
        let flags = request.change?.sandboxOnlyFlags ?? []
        let (version, current) = try database.config(app: app.name, version: nil)
        let (next, changes) = try Self.next(request, current: current, peerIsRoot: peerIsRoot)
        if !flags.isEmpty || next.port != nil || next.memory != nil || next.pids != nil || next.cpus != nil
            || !next.env.isEmpty || !next.secrets.isEmpty {
            let named = flags.isEmpty ? "port, limits, env and secrets" : flags.joined(separator: ", ")
            throw BatonError(.invalidArgument, "app \(app.name) routes to an upstream outside Baton: \(named) apply only to sandbox apps")
        }
        guard !changes.isEmpty, !request.dryRun else {
            return try await result(app.name, version: version, changes: changes, deployment: nil)
        }
        let stored = try database.storeCurrentConfig(app: app.name, next)
        return try await result(app.name, version: stored, changes: changes, deployment: nil)
    }

    /// The configuration `request` asks for on top of `current`, checked, and the settings that
    /// differ. Whether a secret's value equals the stored one is told only to root, who can read
    /// the state database anyway: for anyone else a secret given is a secret changed.
    private static func next(_ request: AppConfigRequest, current: AppConfig, peerIsRoot: Bool) throws -> (AppConfig, [String]) {
        let next: AppConfig
        if let replacement = request.replacement {
            next = try replacement.validated()
        } else if let change = request.change {
            next = try current.applying(change)
        } else {
            throw BatonError(.invalidArgument, "no configuration change given")
        }
        var changes = next.changes(from: current, comparingSecretValues: peerIsRoot)
        let givesSecrets = !(request.change?.secrets.isEmpty ?? true) || !(request.replacement?.secrets.isEmpty ?? true)
        if !peerIsRoot && givesSecrets && !changes.contains("secrets") { changes.append("secrets") }
        return (next, changes)
    }

    private func result(_ name: String, version: Int64?, changes: [String], deployment: DeploymentInfo?) async throws -> AppConfigResult {
        AppConfigResult(app: try await routing.service.app(named: name), configVersion: version, changes: changes,
                        deployment: deployment)
    }
}

/// A configuration change that ends without a swap (nothing changed, or nothing serves):
/// decided under the app's deploy lock, it ends the swap before anything is recorded.
private struct NoSwap: Error {}

/// What was decided under the app's deploy lock, read once the swap call has returned.
private final class ConfigDecision: Sendable {
    private let state = Mutex<(version: Int64?, changes: [String])>((nil, []))

    func set(_ version: Int64?, _ changes: [String]) { state.withLock { $0 = (version, changes) } }
    var version: Int64? { state.withLock { $0.version } }
    var changes: [String] { state.withLock { $0.changes } }
}
