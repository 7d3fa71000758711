/// Everything the child path needs, prepared before clone. `Spawner` turns it into the C
/// configuration; nothing here is computed after the child exists.
public struct SpawnRequest: Sendable {
    public struct Mount: Sendable, Equatable {
        public enum Kind: Int32, Sendable {
            case filesystem = 1, device, mask, readOnly, symlink, directory, remountReadOnly, bind
        }

        public var kind: Kind
        public var source: String?
        /// Relative to the new root, no leading slash.
        public var target: String
        public var fstype: String?
        public var flags: UInt
        public var data: String?
        public var rdev: UInt64

        public init(kind: Kind, source: String? = nil, target: String, fstype: String? = nil,
                    flags: UInt = 0, data: String? = nil, rdev: UInt64 = 0) {
            self.kind = kind
            self.source = source
            self.target = target
            self.fstype = fstype
            self.flags = flags
            self.data = data
            self.rdev = rdev
        }
    }

    public struct ResourceLimit: Sendable, Equatable {
        public var resource: Int32
        public var soft: UInt64
        public var hard: UInt64

        public init(resource: Int32, soft: UInt64, hard: UInt64) {
            self.resource = resource
            self.soft = soft
            self.hard = hard
        }
    }

    /// CLONE_NEW* flags (see `Namespaces`).
    public var namespaces: Int32 = 0
    public var dieWithParent = false
    /// A cgroup v2 directory fd to clone into, or -1.
    public var cgroupFD: Int32 = -1
    /// The child may build its root (overlay, mount plan, pivot_root), hostname and loopback
    /// while the parent's `prepare` runs, instead of after it: only when nothing of that needs
    /// the parent's step first (no user namespace, whose id maps the parent writes; no v1
    /// cgroup to be moved into, so the mounts are charged to the sandbox's cgroup). The
    /// program still waits for the go byte.
    public var setupBeforeRelease = false

    /// The sandbox's directory: the child mounts the overlay root on it (in its own mount
    /// namespace only).
    public var sandboxDirectory: String
    /// The skeleton layer on top of every root (absolute).
    public var skeleton = ""
    /// Overlay lower dirs, top first; relative ones are relative to `lowerBase`.
    public var lowerDirs: [String]
    public var lowerBase: String?
    /// Overlay upper and work dirs (absolute): the root is writable and its changes land in
    /// `upperDir`. nil: a read-only root.
    public var upperDir: String?
    public var workDir: String?
    public var mounts: [Mount] = []

    public var hostname: String?
    public var loopbackUp = true
    /// The sandbox's end of a veth pair, already in its network namespace, for the child to
    /// configure before the program runs.
    public var interface: Interface?

    public struct Interface: Sendable, Equatable {
        public var name: String
        public var address: IPv4Address
        public var prefix: Int
        public var gateway: IPv4Address
        /// The default route's path MTU; 0 keeps the link's.
        public var routeMTU: UInt32

        public init(name: String, address: IPv4Address, prefix: Int, gateway: IPv4Address, routeMTU: UInt32 = 0) {
            self.name = name
            self.address = address
            self.prefix = prefix
            self.gateway = gateway
            self.routeMTU = routeMTU
        }
    }

    public var argv: [String]
    public var environment: [String] = []
    public var searchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    public var workdir = "/"

    /// Descriptors to install as 0, 1, 2; -1 inherits the caller's.
    public var stdio: [Int32] = [-1, -1, -1]
    /// stdin is a pty: the program takes it as its controlling terminal.
    public var controllingTerminal = false

    /// The sandbox's own log: init appends the program's stdout and stderr to `name` in the
    /// directory open at `directoryFD`, rotating to `rotatedName` past `maxBytes`.
    public struct Log: Sendable, Equatable {
        public var directoryFD: Int32
        public var name: String
        public var rotatedName: String
        public var maxBytes: UInt64

        public init(directoryFD: Int32, name: String, rotatedName: String, maxBytes: UInt64) {
            self.directoryFD = directoryFD
            self.name = name
            self.rotatedName = rotatedName
            self.maxBytes = maxBytes
        }
    }

    public var log: Log?

    public var user: (uid: UInt32, gid: UInt32)?
    public var clearSupplementaryGroups = true

    public var keepCapabilities: UInt64 = 0
    public var lastCapability = 40

    /// Classic BPF from `SeccompFilter.exportBPF()`; nil runs unconfined.
    public var seccompProgram: [UInt64]?
    /// The sandbox init's own filter, loaded after it forked the program; nil gives init
    /// `seccompProgram`.
    public var initSeccompProgram: [UInt64]?
    public var resourceLimits: [ResourceLimit] = []
    public var forwardedSignals: [Int32] = []
    /// What `ps` shows for the sandbox's init instead of the launcher's command line.
    public var initTitle: String?

    public init(sandboxDirectory: String, lowerDirs: [String], argv: [String]) {
        self.sandboxDirectory = sandboxDirectory
        self.lowerDirs = lowerDirs
        self.argv = argv
    }
}

extension SpawnRequest {
    /// Every string the child receives as a C string.
    var stringsForC: [String] {
        var strings = argv + environment + [sandboxDirectory, skeleton, searchPath, workdir]
        strings += lowerDirs + [lowerBase, upperDir, workDir, hostname, initTitle, log?.name, log?.rotatedName].compactMap { $0 }
        for mount in mounts { strings += [mount.source, mount.target, mount.fstype, mount.data].compactMap { $0 } }
        return strings
    }
}

/// clone(2)'s namespace flags.
public enum Namespaces {
    public static let mount: Int32 = 0x0002_0000
    public static let cgroup: Int32 = 0x0200_0000
    public static let uts: Int32 = 0x0400_0000
    public static let ipc: Int32 = 0x0800_0000
    public static let user: Int32 = 0x1000_0000
    public static let pid: Int32 = 0x2000_0000
    public static let network: Int32 = 0x4000_0000
}
