import BatonOS

/// What to run and how to confine it. Every isolation property is on unless a field turns
/// it off; `SandboxLauncher` turns a spec into a running `Sandbox`.
public struct SandboxSpec: Sendable {
    /// The read-only root: a directory, or unpacked layers stacked as overlay lower dirs.
    public enum Root: Sendable, Equatable {
        case directory(String)
        /// Absolute paths, top layer first.
        case layers([String])
    }

    public enum SeccompMode: String, Sendable, CaseIterable {
        case `default`
        case unconfined
    }

    /// Sandbox id: names its directory, its cgroup and (by default) its hostname.
    public var id: String
    public var root: Root
    public var argv: [String]
    /// The artifact (manifest digest) the root comes from, recorded so `artifact gc` keeps
    /// its layers while the sandbox runs.
    public var artifactDigest: String?
    /// Host directories bound read-only at the same path inside (an artifact published with
    /// `--base host`); the root must have a directory at each.
    public var hostBinds: [String] = []
    /// Host directories bound at a path inside (volumes): `nosuid`, `nodev`, read-only on
    /// request. Their mount points are made in the sandbox's own layer.
    public var binds: [Bind] = []
    /// Files the sandbox's root shows at these absolute paths (`/etc/hosts`, …), read-only,
    /// above the artifact's own.
    public var files: [File] = []
    /// Egress through a bridge; nil leaves the sandbox with loopback only.
    public var network: Network?
    public var environment: [String] = SandboxSpec.defaultEnvironment
    /// KEY=VALUE added to (and overriding) `environment` for the program only: never written
    /// anywhere (not to the sandbox record), so `baton exec` starts without them.
    public var secretEnvironment: [String] = []
    public var workdir = "/"
    public var hostname: String?
    /// A writable root: changes land in this upper dir (a build's RUN step turns it into a
    /// layer). nil: the root is read-only, as for every app.
    public var writableLayer: WritableLayer?

    public var memoryLimit: UInt64?
    public var pidsLimit: Int?
    public var cpus: Double?
    public var tmpSize: UInt64 = 64 << 20
    /// Give the sandbox a cgroup even without limits, for memory accounting and to find its
    /// processes (daemon sandboxes). One-off runs without limits skip the cgroup.
    public var cgroupAccounting = false

    public var user: (uid: UInt32, gid: UInt32)?
    /// Adds a user namespace in which root maps to an unprivileged host range.
    public var userNamespace = false
    public var keepCapabilities: [String] = []
    public var seccomp: SeccompMode = .default

    /// Descriptors for the program's stdin, stdout, stderr; -1 inherits the launcher's.
    public var stdio: [Int32] = [-1, -1, -1]
    /// `stdio[0]` is a pty: the program takes it as its controlling terminal.
    public var controllingTerminal = false
    /// When set, stdout and stderr go to `<directory>/output.log`, written by the sandbox's
    /// init (so the log outlives the launcher), rotated to `output.log.1` past `maxBytes`.
    public var log: SandboxLog?
    /// Kill the sandbox when the launching thread dies (one-off runs; not daemon sandboxes).
    public var dieWithParent = false

    public static let defaultEnvironment = [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ]

    /// `base` with `overrides` applied: a later KEY=VALUE replaces an earlier one.
    public static func merging(_ base: [String], _ overrides: [String]) -> [String] {
        var result = base
        for entry in overrides {
            let key = entry.split(separator: "=", maxSplits: 1).first.map(String.init) ?? entry
            result.removeAll { $0.hasPrefix(key + "=") }
            result.append(entry)
        }
        return result
    }

    public init(id: String, root: Root, argv: [String]) {
        self.id = id
        self.root = root
        self.argv = argv
    }
}

extension SandboxSpec {
    public struct Bind: Sendable, Equatable {
        /// An absolute host directory with no symlink on its path.
        public var source: String
        /// An absolute path inside the sandbox.
        public var target: String
        public var readOnly: Bool

        public init(source: String, target: String, readOnly: Bool = false) {
            self.source = source
            self.target = target
            self.readOnly = readOnly
        }
    }

    /// A veth pair into a bridge: the launcher makes it once the sandbox's network namespace
    /// exists (before the program runs), and the child gives its end the address and route.
    public struct Network: Sendable, Equatable {
        public var bridgeIndex: Int32
        /// The host end's name (at most 15 bytes).
        public var hostInterface: String
        public var interface: SpawnRequest.Interface
        /// The pair's MTU (the bridge takes its ports' smallest).
        public var linkMTU: UInt32

        public init(bridgeIndex: Int32, hostInterface: String, interface: SpawnRequest.Interface, linkMTU: UInt32 = 1500) {
            self.bridgeIndex = bridgeIndex
            self.hostInterface = hostInterface
            self.interface = interface
            self.linkMTU = linkMTU
        }
    }

    public struct File: Sendable, Equatable {
        public var path: String
        public var contents: String

        public init(path: String, contents: String) {
            self.path = path
            self.contents = contents
        }
    }

    /// An overlay upper dir and its work dir: absolute, empty, on one file system, made by the
    /// caller and removed by it after the sandbox ends.
    public struct WritableLayer: Sendable, Equatable {
        public var upper: String
        public var work: String

        public init(upper: String, work: String) {
            self.upper = upper
            self.work = work
        }
    }

    /// Whether the sandbox needs a layer of its own (SandboxLayer) above the skeleton.
    var needsOwnLayer: Bool { !binds.isEmpty || !files.isEmpty }
}

/// Where a sandbox writes its output, and how much of it to keep.
public struct SandboxLog: Sendable, Equatable {
    public static let fileName = "output.log"
    public static let rotatedFileName = "output.log.1"

    public var directory: String
    /// The current file's cap; with the rotated file, at most twice this is kept.
    public var maxBytes: UInt64 = Self.defaultMaxBytes

    public static let defaultMaxBytes: UInt64 = 10 << 20

    public init(directory: String, maxBytes: UInt64 = Self.defaultMaxBytes) {
        self.directory = directory
        self.maxBytes = maxBytes
    }

    /// Where the sandbox `id` under `root` keeps its log: `<root>/logs/<id>`.
    public static func directory(root: String, id: String) -> String { "\(root)/logs/\(id)" }

    public var path: String { "\(directory)/\(Self.fileName)" }
    public var rotatedPath: String { "\(directory)/\(Self.rotatedFileName)" }
}
