import BatonControl
import BatonDeploy
import BatonOS
import BatonSandbox
import BatonStore
import Foundation
import Logging
import Synchronization

/// The daemon's sandboxes: it launches them from the artifact store, is their parent (or their
/// adopter after a restart), notices at once when one exits, and keeps each one's output log
/// under `<root>/logs/<id>`. Implements BatonDeploy's `SandboxRuntime`.
final class SandboxRuntimeService: SandboxRuntime, Sendable {
    struct Entry: Sendable {
        let sandbox: Sandbox
        var exitReason: String?
    }

    let root: String
    let database: StateDatabase
    let launcher: SandboxLauncher
    let logger: Logger
    private let entries = Mutex<[String: Entry]>([:])
    /// Called (off any lock) when a sandbox the daemon did not stop exits.
    private let onExit = Mutex<(@Sendable (SandboxRow) -> Void)?>(nil)

    init(root: String, database: StateDatabase, logger: Logger) {
        self.root = root
        self.database = database
        self.launcher = SandboxLauncher(root: root, logger: logger)
        self.logger = logger
    }

    func setExitHandler(_ handler: @escaping @Sendable (SandboxRow) -> Void) {
        onExit.withLock { $0 = handler }
    }

    /// How many ended sandboxes of each app keep their record (`baton ps --all`) and their log
    /// (`baton logs`); older ones are forgotten as newer ones end.
    static let endedSandboxesKept = 10

    /// Forgets `app`'s ended sandboxes beyond the newest `keep`: their rows and log directories.
    func forgetEnded(app: String, keep: Int = endedSandboxesKept) {
        do {
            for id in try database.pruneEndedSandboxes(app: app, keep: keep) {
                try? FileManager.default.removeItem(atPath: SandboxLog.directory(root: root, id: id))
            }
        } catch {
            logger.warning("cannot forget the ended sandboxes of \(app): \(error)")
        }
    }

    func start(app: String, digest: String) async throws -> SandboxHandle {
        guard let settings = try database.app(named: app) else {
            throw BatonError(.notFound, "no app named \(app): see 'baton app ls'")
        }
        return try await DetachedThread.run { try self.launch(app: settings, digest: digest) }
    }

    private func launch(app: AppInfo, digest: String) throws -> SandboxHandle {
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
        let id = "\(app.name)-\(Self.randomSuffix())"
        var spec = SandboxSpec(id: id, root: .layers(try store.unpackedLayers(of: artifact)), argv: argv)
        spec.environment = SandboxSpec.merging(SandboxSpec.merging(SandboxSpec.defaultEnvironment, config.env), app.env)
        spec.workdir = config.workingDir.flatMap { $0.isEmpty ? nil : $0 } ?? "/"
        spec.hostBinds = try store.hostBindPaths(of: artifact)
        spec.artifactDigest = artifact.digest
        spec.memoryLimit = app.memory.map { UInt64($0) }
        spec.pidsLimit = app.pids
        spec.cgroupAccounting = true
        let logs = SandboxLog.directory(root: root, id: id)
        for directory in [PathName.parent(of: logs), logs] where mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw BatonError(.setupFailed, "cannot create \(directory): \(String(cString: strerror(errno)))")
        }
        spec.log = SandboxLog(directory: logs)
        spec.stdio = [Self.devNull, -1, -1]
        let sandbox = try launcher.launch(spec)
        try database.insertSandbox(SandboxRow(id: id, app: app.name, digest: artifact.digest, artifact: artifact.name,
                                              port: port, state: "running", pid: sandbox.pid, startTime: sandbox.identity?.startTime,
                                              createdAt: Timestamp.now()))
        track(sandbox, app: app.name)
        return Self.handle(sandbox, app: app.name, digest: artifact.digest)
    }

    /// Starts watching a sandbox this daemon launched or adopted.
    func track(_ sandbox: Sandbox, app: String) {
        entries.withLock { $0[sandbox.id] = Entry(sandbox: sandbox) }
        let watching = DetachedThread.start { [self] in
            _ = sandbox.process.waitForExit(timeout: nil)
            let status = (try? sandbox.process.poll())?.map { $0.shellStatus }
            let stillTracked = entries.withLock { entries -> Bool in
                guard entries[sandbox.id] != nil else { return false }
                entries[sandbox.id]?.exitReason = "the program exited" + (status.map { " with status \($0)" } ?? "")
                return true
            }
            // Stopped on purpose: `stop` has already recorded and cleaned up.
            guard stillTracked else { return }
            try? database.endSandbox(id: sandbox.id, state: "exited", exitStatus: status)
            sandbox.destroy()
            forgetEnded(app: app)
            logger.warning("sandbox \(sandbox.id) of \(app) exited", metadata: ["status": "\(status.map(String.init) ?? "unknown")"])
            if let row = try? database.sandbox(id: sandbox.id) {
                onExit.withLock { $0 }?(row)
            }
        }
        if !watching {
            logger.error("cannot start a thread to watch sandbox \(sandbox.id) of \(app): its exit will be noticed at the next restart")
        }
    }

    func exitReason(of sandbox: SandboxHandle) async -> String? {
        entries.withLock { $0[sandbox.id]?.exitReason }
    }

    func stop(_ handle: SandboxHandle, grace: Duration) async {
        guard let entry = entries.withLock({ $0.removeValue(forKey: handle.id) }) else { return }
        let seconds = Double(grace.components.seconds) + Double(grace.components.attoseconds) / 1e18
        await DetachedThread.run {
            entry.sandbox.stop(grace: seconds)
            _ = try? entry.sandbox.process.poll()
            entry.sandbox.destroy()
        }
        try? database.endSandbox(id: handle.id, state: "stopped", exitStatus: nil)
        forgetEnded(app: handle.app)
    }

    func lastLogLines(of sandbox: SandboxHandle, count: Int) async -> [String] {
        Self.tail(path: SandboxLog(directory: SandboxLog.directory(root: root, id: sandbox.id)).path, lines: count)
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

    static func handle(_ sandbox: Sandbox, app: String, digest: String) -> SandboxHandle {
        SandboxHandle(id: sandbox.id, app: app, digest: digest, pid: sandbox.pid, netnsPath: NamespaceSocket.networkNamespace(of: sandbox.pid))
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
