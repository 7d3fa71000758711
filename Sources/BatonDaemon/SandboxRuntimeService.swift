import BatonControl
import BatonDeploy
import BatonOS
import BatonSandbox
import BatonStore
import Foundation
import Logging
import Synchronization

/// The daemon's sandboxes: it launches them from the artifact store, is their parent (or their
/// adopter after a restart), holds each one's network namespace for its life, notices at once
/// when one exits, and keeps each one's output log under `<root>/logs/<id>`. Implements
/// BatonDeploy's `SandboxRuntime`.
final class SandboxRuntimeService: SandboxRuntime, Sendable {
    struct Entry: Sendable {
        let sandbox: Sandbox
        /// What the proxy and the health checks reach it by; nil once it has exited, which
        /// releases the namespace (requests and checks under way hold their own reference).
        var live: SandboxHandle?
        var exitReason: String?
    }

    let root: String
    let database: StateDatabase
    let network: SandboxNetworkService
    let launcher: SandboxLauncher
    let volumes: VolumeStore
    let logger: Logger
    /// Each sandbox's log is rotated past this many bytes (`baton daemon --log-max`).
    let logMaxBytes: UInt64
    /// How many ended sandboxes of each app keep their record (`baton ps --all`) and their log
    /// (`baton logs`); older ones are forgotten as newer ones end (`baton daemon --log-retain`).
    let logRetain: Int
    private let entries = Mutex<[String: Entry]>([:])
    /// Called (off any lock, on the sandbox's watcher thread) as soon as a sandbox the daemon
    /// did not stop has exited, before its end is recorded: by then `live` no longer knows it.
    private let onExit = Mutex<(@Sendable (SandboxHandle) -> Void)?>(nil)

    init(root: String, database: StateDatabase, network: SandboxNetworkService, logger: Logger,
         logMaxBytes: UInt64 = SandboxLog.defaultMaxBytes, logRetain: Int = 5) {
        self.root = root
        self.database = database
        self.network = network
        self.launcher = SandboxLauncher(root: root, logger: logger)
        self.volumes = VolumeStore(root: root)
        self.logger = logger
        self.logMaxBytes = logMaxBytes
        self.logRetain = logRetain
    }

    func setExitHandler(_ handler: @escaping @Sendable (SandboxHandle) -> Void) {
        onExit.withLock { $0 = handler }
    }

    /// Forgets `app`'s ended sandboxes beyond the newest `keep` (default `logRetain`): their
    /// rows and log directories.
    func forgetEnded(app: String, keep: Int? = nil) {
        do {
            for id in try database.pruneEndedSandboxes(app: app, keep: keep ?? logRetain) {
                try? FileManager.default.removeItem(atPath: SandboxLog.directory(root: root, id: id))
            }
        } catch {
            logger.warning("cannot forget the ended sandboxes of \(app): \(error)")
        }
    }

    func start(app: String, digest: String, configVersion: Int64?) async throws -> SandboxHandle {
        guard let settings = try database.app(named: app) else {
            throw BatonError(.notFound, "no app named \(app): see 'baton app ls'")
        }
        let (version, config) = try database.config(app: app, version: configVersion)
        // `--replicas N`: N sandboxes as one group, the first named by the others' rows. If
        // one cannot start, those already started are stopped: all or nothing.
        var group: [SandboxHandle] = []
        do {
            for _ in 0..<max(1, settings.replicas) {
                let leader = group.first?.id
                group.append(try await DetachedThread.run {
                    try self.launch(app: settings.with(config), secrets: config.secrets, configVersion: version, digest: digest,
                                    replicaOf: leader)
                })
            }
        } catch {
            for started in group { await stop(id: started.id, app: app, grace: .seconds(1)) }
            throw error
        }
        var leader = group[0]
        leader.replicas = Array(group.dropFirst())
        return leader
    }

    /// Starts one more sandbox of the group `replicaOf` (a replica that died, restarted alone).
    func startReplica(of group: String, app: String, digest: String, configVersion: Int64?) async throws -> SandboxHandle {
        guard let settings = try database.app(named: app) else {
            throw BatonError(.notFound, "no app named \(app): see 'baton app ls'")
        }
        let (version, config) = try database.config(app: app, version: configVersion)
        return try await DetachedThread.run {
            try self.launch(app: settings.with(config), secrets: config.secrets, configVersion: version, digest: digest, replicaOf: group)
        }
    }

    /// Starts a sandbox of `app` (its settings those of configuration `configVersion`) with
    /// `secrets` in its program's environment only; `replicaOf` names its group's first.
    private func launch(app: AppInfo, secrets: [String], configVersion: Int64?, digest: String, replicaOf: String? = nil) throws -> SandboxHandle {
        let store = try ArtifactStore(root: root)
        let artifact = try store.resolve(digest)
        let config = artifact.config
        let argv = (config.entrypoint ?? []) + (config.cmd ?? [])
        guard !argv.isEmpty else {
            throw BatonError(.invalidArgument, "artifact \(digest) records no command: publish it with --cmd")
        }
        guard let port = app.port ?? config.exposedPorts.first else {
            throw BatonError(.invalidArgument, "app \(app.name) has no port and artifact \(digest) records none: create the app with --port or publish with --port")
        }
        // At most AppValidation.maxNameLength + 9 bytes: a valid sandbox name.
        let id = "\(app.name)-\(Self.randomSuffix())"
        var spec = SandboxSpec(id: id, root: .layers([]), argv: argv)
        spec.environment = AppEnvironment.variables(artifact: config.env, app: app, port: port, digest: artifact.digest, sandbox: id)
        spec.secretEnvironment = secrets
        spec.workdir = config.workingDir.flatMap { $0.isEmpty ? nil : $0 } ?? "/"
        spec.hostBinds = try store.hostBindPaths(of: artifact)
        spec.artifactDigest = artifact.digest
        spec.memoryLimit = app.memory.map { UInt64($0) }
        spec.pidsLimit = app.pids
        spec.cpus = app.cpus
        spec.cgroupAccounting = true
        // A numeric User of the artifact is the program's ids (as with `baton run`), and the
        // owner of the volumes it makes; otherwise root.
        spec.user = config.user.flatMap(UserSpec.parse)
        let claim = try volumes.claim(app, owner: spec.user ?? (0, 0))
        defer { volumes.release(claim) }
        spec.binds = claim.binds
        let logs = SandboxLog.directory(root: root, id: id)
        for directory in [PathName.parent(of: logs), logs] where mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw BatonError(.setupFailed, "cannot create \(directory): \(String(cString: strerror(errno)))")
        }
        spec.log = SandboxLog(directory: logs, maxBytes: logMaxBytes)
        spec.stdio = [Self.devNull, -1, -1]
        let sandbox: Sandbox
        do {
            if let attached = try network.attach(app: app, id: id) {
                spec.network = attached.network
                spec.files += attached.files
            }
            // The layers stay held until the sandbox's record names its artifact (gc).
            sandbox = try store.holdingLayers {
                spec.root = .layers(try store.unpackedLayers(of: artifact))
                return try launcher.launch(spec)
            }
        } catch {
            network.detach(id: id)
            throw error
        }
        let handle: SandboxHandle
        do {
            handle = try Self.handle(sandbox, app: app.name, digest: artifact.digest, configVersion: configVersion)
            try database.insertSandbox(SandboxRow(id: id, app: app.name, digest: artifact.digest, artifact: artifact.name,
                                                  port: port, state: "running", pid: sandbox.pid, startTime: sandbox.identity?.startTime,
                                                  createdAt: Timestamp.now(), volumes: claim.keys, configVersion: configVersion,
                                                  replicaOf: replicaOf))
        } catch {
            // Never leave a sandbox running that no record names: nothing would stop it.
            let runningBefore = sandbox.process.isRunning
            sandbox.kill()
            let exit = try? sandbox.process.wait()
            sandbox.destroy()
            network.detach(id: id)
            // It ended by itself when it was gone before the kill, or was on its way out: a
            // program that exits at once takes its init past its namespaces (so /proc/PID/ns
            // is gone: ENOENT for a child not yet reaped) before its exit shows, and then
            // init ends with the program's status rather than the kill's signal.
            let exiting = (error as? OSError)?.errno == ENOENT
            let endedWithItsOwnStatus = exit.map { Self.signal(of: $0) != SIGKILL } ?? false
            let ended = !runningBefore || exiting || endedWithItsOwnStatus
            if ended {
                // Its program failed at once: say so, not which /proc file could not be opened.
                throw BatonError(.setupFailed, "the new sandbox \(id) exited as it started (\(Self.exitReason(exit))): see its output with 'baton logs \(id)'",
                                 cause: error)
            }
            throw BatonError(.setupFailed, "cannot record sandbox \(id) of \(app.name), so it was stopped: \(error)", cause: error)
        }
        watch(sandbox, handle)
        return handle
    }

    /// Takes over a sandbox a previous daemon launched (`Sandbox.adopt`): holds its network
    /// namespace and watches it. Throws when it has exited meanwhile; the caller destroys it.
    func adopt(_ sandbox: Sandbox, app: String, digest: String, configVersion: Int64?) throws -> SandboxHandle {
        let handle = try Self.handle(sandbox, app: app, digest: digest, configVersion: configVersion)
        watch(sandbox, handle)
        return handle
    }

    /// The handle of a sandbox that runs now; nil for one that has exited or is not ours.
    func live(id: String) -> SandboxHandle? {
        entries.withLock { $0[id]?.live }
    }

    /// Starts watching a sandbox this daemon launched or adopted.
    private func watch(_ sandbox: Sandbox, _ handle: SandboxHandle) {
        entries.withLock { $0[sandbox.id] = Entry(sandbox: sandbox, live: handle) }
        let app = handle.app
        let watching = DetachedThread.start { [self] in
            _ = sandbox.process.waitForExit(timeout: nil)
            let exit = (try? sandbox.process.poll()) ?? nil
            let status = exit?.shellStatus
            let stillTracked = entries.withLock { entries -> Bool in
                guard entries[sandbox.id] != nil else { return false }
                entries[sandbox.id]?.exitReason = Self.exitReason(exit)
                entries[sandbox.id]?.live = nil
                return true
            }
            // Stopped on purpose (or let go at shutdown): `stop` has recorded and cleaned up.
            guard stillTracked else { return }
            // First, so the routes stop naming it before anyone can see it recorded as ended.
            onExit.withLock { $0 }?(handle)
            try? database.endSandbox(id: sandbox.id, state: "exited", exitStatus: status, exitSignal: Self.signal(of: exit))
            sandbox.destroy()
            network.detach(id: sandbox.id)
            forgetEnded(app: app)
            logger.warning("sandbox \(sandbox.id) of \(app) exited", metadata: ["status": "\(status.map(String.init) ?? "unknown")"])
        }
        if !watching {
            logger.error("cannot start a thread to watch sandbox \(sandbox.id) of \(app): its exit will be noticed at the next restart")
        }
    }

    /// "the program exited with status 1", "the sandbox was killed by signal 9". (Its init
    /// exits with the program's status, 128+N when a signal N ended the program; only a signal
    /// sent to the init itself ends the sandbox by a signal.)
    static func exitReason(_ exit: ProcessExit?) -> String {
        switch exit {
        case .exited(let code): return "the program exited with status \(code)"
        case .signaled(let signal): return "the sandbox was killed by signal \(signal)"
        case nil: return "the program exited"
        }
    }

    static func signal(of exit: ProcessExit?) -> Int32? {
        if case .signaled(let signal) = exit { return signal }
        return nil
    }

    /// Why the sandbox (for a group, the first of its replicas that did) is gone; nil while
    /// every one runs.
    func exitReason(of sandbox: SandboxHandle) async -> String? {
        let members = sandbox.members
        return entries.withLock { entries in
            for member in members {
                // No longer watched: `baton stop` (or a shutdown) took it; a health check of it
                // must end now, not at its timeout.
                guard let entry = entries[member.id] else {
                    return members.count == 1 ? "it was stopped" : "replica \(member.id) was stopped"
                }
                guard let reason = entry.exitReason else { continue }
                return members.count == 1 ? reason : "replica \(member.id): \(reason)"
            }
            return nil
        }
    }

    /// Stops the sandbox and, for a group, every replica of it, together.
    func stop(_ handle: SandboxHandle, grace: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            for member in handle.members {
                group.addTask { await self.stop(id: member.id, app: member.app, grace: grace) }
            }
        }
    }

    /// Stops sandbox `id` of `app` if this daemon runs it, and records it stopped.
    func stop(id: String, app: String, grace: Duration) async {
        guard let entry = entries.withLock({ $0.removeValue(forKey: id) }) else { return }
        let seconds = Double(grace.components.seconds) + Double(grace.components.attoseconds) / 1e18
        await DetachedThread.run {
            entry.sandbox.stop(grace: seconds)
            _ = try? entry.sandbox.process.poll()
            entry.sandbox.destroy()
        }
        network.detach(id: id)
        try? database.endSandbox(id: id, state: "stopped", exitStatus: nil)
        forgetEnded(app: app)
    }

    /// For a group, the lines of the first replica that exited (the one a failed deploy is
    /// about), else of its first.
    func lastLogLines(of sandbox: SandboxHandle, count: Int) async -> [String] {
        let members = sandbox.members
        let id = entries.withLock { entries in members.first { entries[$0.id]?.exitReason != nil }?.id } ?? sandbox.id
        return Self.tail(path: SandboxLog(directory: SandboxLog.directory(root: root, id: id)).path, lines: count)
    }

    func sandbox(id: String) -> Sandbox? { entries.withLock { $0[id]?.sandbox } }

    /// Stops every sandbox watcher without stopping the sandboxes (daemon shutdown): they keep
    /// serving and the next daemon adopts them.
    func detachAll() {
        let all = entries.withLock { entries in
            defer { entries.removeAll() }
            return entries.values.map(\.sandbox)
        }
        for sandbox in all { sandbox.detach() }
    }

    /// The handle of a sandbox whose init still runs: its network namespace is opened now and
    /// held from here on.
    private static func handle(_ sandbox: Sandbox, app: String, digest: String, configVersion: Int64?) throws(OSError) -> SandboxHandle {
        SandboxHandle(id: sandbox.id, app: app, digest: digest, pid: sandbox.pid, network: try NetworkNamespace.of(sandbox.process),
                      configVersion: configVersion)
    }

    static func tail(path: String, lines count: Int) -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        let lines = String(decoding: data.suffix(64 << 10), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        return lines.dropLast(lines.last == "" ? 1 : 0).suffix(count).map(String.init)
    }

    private static let devNull: Int32 = open("/dev/null", O_RDONLY | O_CLOEXEC)

    private static func randomSuffix() -> String {
        let value = UInt64.random(in: 0..<(1 << 32))
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }
}
