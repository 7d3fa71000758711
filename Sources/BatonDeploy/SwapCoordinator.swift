import BatonOS
import Logging

/// Runs blue-green swaps: start green → wait until healthy (deadline) → route to green in one
/// step → drain blue (deadline) → stop blue, recording each phase as it completes. An app
/// whose settings say stop-first is swapped the other way round (SwapCoordinator+StopFirst).
///
/// One swap per app at a time (a second is refused); swaps of different apps run concurrently.
/// If green fails to start or to become healthy, green is stopped, blue is untouched and still
/// serving, and the thrown `BatonError` carries a `DeployFailure` with green's last log lines.
public actor SwapCoordinator {
    /// Makes the health probe for a green sandbox.
    public typealias ProbeFactory = @Sendable (SandboxHandle, DeploySettings) -> any HealthProbe

    /// The real probe: HTTP GET of the health path on 127.0.0.1:port inside green's namespace
    /// (inside each replica's, for a group: healthy once every one is).
    public static let httpProbe: ProbeFactory = { sandbox, settings in
        ReplicaGroupProbe.of(sandbox.members.map {
            HTTPHealthProbe.loopback(port: settings.port, path: settings.healthPath, in: $0.network, h2c: settings.h2c)
        }, expectedStatus: settings.health.expectedStatus)
    }

    let runtime: any SandboxRuntime
    let routes: any RouteInstaller
    let drainer: any TrafficDrainer
    let recorder: any DeploymentRecorder
    /// Holds requests during stop-first swaps; without one, a stop-first swap is refused.
    let holder: (any RequestHolder)?
    let clock: any DeployClock
    let makeProbe: ProbeFactory
    let logger: Logger
    /// The swaps under way, by app: holding an entry is holding the app's deploy lock.
    var swaps: [String: SwapStatus] = [:]
    /// Bake (part 3): the proxy's live figures per sandbox; nil: no bake windows.
    let traffic: (any TrafficWatch)?
    /// Bake (part 3): blue's last minute before the flip, by app, until its bake window reads it.
    var baselines: [String: TrafficFigures] = [:]
    /// Bake (part 3): the bake windows under way, by app.
    var bakes: [String: BakeWindow] = [:]
    /// Bake (part 3): each app's last bake window's record, for a rollback that arrives as it ends.
    var lastRecords: [String: DeploymentRecord] = [:]

    public init(runtime: any SandboxRuntime, routes: any RouteInstaller, drainer: any TrafficDrainer,
                recorder: any DeploymentRecorder, holder: (any RequestHolder)? = nil, clock: any DeployClock = SystemDeployClock(),
                probe: @escaping ProbeFactory = SwapCoordinator.httpProbe,
                logger: Logger = Logger(label: "baton.deploy"), traffic: (any TrafficWatch)? = nil) {
        self.traffic = traffic
        self.runtime = runtime
        self.routes = routes
        self.drainer = drainer
        self.recorder = recorder
        self.holder = holder
        self.clock = clock
        self.makeProbe = probe
        self.logger = logger
    }

    /// Swaps `app` to `digest`. Returns the succeeded deployment once traffic is on green and
    /// blue is stopped. Throws `BatonError`: `.conflict` if a deploy of `app` is under way,
    /// `.invalidArgument` for bad settings, `.timeout` if green never became healthy, or the
    /// launcher's error if green did not start; the route is then unchanged.
    public func deploy(app: String, to digest: String, settings: DeploySettings,
                       progress: @escaping DeployProgress = { _ in }) async throws -> DeploymentRecord {
        try await deploy(app: app, to: digest, settingsFor: settings.forAnyDigest, progress: progress)
    }

    /// The same, for settings that depend on the digest (its artifact's port and health path)
    /// and the configuration version (nil: the app's current one): `settingsFor` is asked for
    /// `digest`, and for blue's when a failed stop-first swap starts blue again.
    public func deploy(app: String, to digest: String, settingsFor: SettingsLookup,
                       progress: @escaping DeployProgress = { _ in }) async throws -> DeploymentRecord {
        try await swap(app: app, progress: progress, settingsFor: settingsFor) { _ in (digest, try settingsFor(digest, nil)) }
    }

    /// Swaps `app` back to the digest and configuration that served before the current ones, or
    /// to `digest` when given. Throws `.notFound` if the app serves nothing or has no earlier digest.
    public func rollback(app: String, to digest: String? = nil, settings: DeploySettings,
                         progress: @escaping DeployProgress = { _ in }) async throws -> DeploymentRecord {
        try await rollback(app: app, to: digest, settingsFor: settings.forAnyDigest, progress: progress)
    }

    /// The same, for settings that depend on the digest (its artifact's port and health path)
    /// and on the configuration version (nil: the app's current one, for an explicit digest):
    /// `settingsFor` is asked once they are chosen, under the app's deploy lock.
    public func rollback(app: String, to digest: String? = nil, settingsFor: SettingsLookup,
                         progress: @escaping DeployProgress = { _ in }) async throws -> DeploymentRecord {
        if digest == nil, bakes[app] != nil { return await rollBackBake(app: app) }
        return try await swap(app: app, progress: progress, settingsFor: settingsFor) { blue in
            if let digest { return (digest, try settingsFor(digest, nil)) }
            guard let blue else {
                throw BatonError(.notFound, "\(app) serves nothing yet: deploy it first with 'baton deploy \(app) REF'")
            }
            let previous = try await self.release(before: blue)
            return (previous.digest, try settingsFor(previous.digest, previous.configVersion))
        }
    }

    /// What served `blue`'s app before it: the `from` digest and configuration version of the
    /// latest succeeded deployment that brought in blue's digest and configuration.
    public func release(before blue: SandboxHandle) async throws -> (digest: String, configVersion: Int64?) {
        let history: [DeploymentRecord]
        do {
            history = try await recorder.history(app: blue.app)
        } catch {
            throw BatonError(.internal, "cannot read the deploy history of \(blue.app): \(error)", cause: error)
        }
        let arrival = history.first {
            $0.outcome == .succeeded && $0.toDigest == blue.digest && $0.configVersion == blue.configVersion
        }
        guard let arrival, let previous = arrival.fromDigest else {
            throw BatonError(.notFound, "\(blue.app) has served only \(shortDigest(blue.digest)): there is no earlier digest to roll back to; name one with --to REF")
        }
        return (previous, arrival.fromConfigVersion)
    }

    /// The swap under way for `app`, if any.
    public func status(of app: String) -> SwapStatus? { swaps[app] }

    /// Every swap under way, by app name.
    public func inProgress() -> [SwapStatus] { swaps.values.sorted { $0.app < $1.app } }
}
