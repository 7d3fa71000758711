import BatonOS

/// One running sandbox as BatonDeploy sees it: enough to health-check it, route to it and
/// stop it. The daemon makes these from its launcher's sandboxes.
public struct SandboxHandle: Hashable, Sendable, CustomStringConvertible {
    /// The sandbox's id, as `baton ps` shows it.
    public let id: String
    public let app: String
    /// The manifest digest (`sha256:…`) the sandbox runs.
    public let digest: String
    /// The sandbox's PID 1 as seen from the daemon.
    public let pid: Int32
    /// The sandbox's network namespace, held open for the sandbox's life: health checks and
    /// the proxy make their sockets inside it and connect to 127.0.0.1.
    public let network: NetworkNamespace
    /// The version of the app's configuration the sandbox started with (nil: none recorded).
    public let configVersion: Int64?
    /// Replicas part: the other sandboxes of its group (`--replicas N`), started with it from
    /// the same digest and configuration, health-checked, routed, drained and stopped with it
    /// as one. Empty for an app of one replica.
    public var replicas: [SandboxHandle] = []

    public init(id: String, app: String, digest: String, pid: Int32, network: NetworkNamespace, configVersion: Int64? = nil) {
        self.id = id
        self.app = app
        self.digest = digest
        self.pid = pid
        self.network = network
        self.configVersion = configVersion
    }

    /// Every sandbox of the group, this one first, each without replicas of its own.
    public var members: [SandboxHandle] {
        var first = self
        first.replicas = []
        return [first] + replicas
    }

    public var description: String {
        "sandbox \(id) (\(shortDigest(digest)))" + (replicas.isEmpty ? "" : " and \(replicas.count) replicas")
    }
}

/// Starts and stops sandboxes. The daemon implements it over BatonSandbox; tests use fakes.
public protocol SandboxRuntime: Sendable {
    /// Starts a sandbox of `digest` for `app`, with version `configVersion` of the app's
    /// configuration (nil: the app's current one), and returns once its program runs (not once
    /// it is healthy). Throws, with nothing left behind, if it could not start.
    func start(app: String, digest: String, configVersion: Int64?) async throws -> SandboxHandle

    /// Nil while the sandbox's program runs; otherwise why it is gone, e.g. "exited with
    /// status 1". Lets a deploy give up on a crashed green at once instead of at the timeout.
    func exitReason(of sandbox: SandboxHandle) async -> String?

    /// Stops the sandbox (SIGTERM, `grace`, SIGKILL) and removes what it used. Must finish
    /// even when the calling task is cancelled: a half-stopped sandbox is an orphan.
    func stop(_ sandbox: SandboxHandle, grace: Duration) async

    /// The last `count` lines the sandbox's program wrote, oldest first.
    func lastLogLines(of sandbox: SandboxHandle, count: Int) async -> [String]
}
