import BatonOS
import FoundationEssentials
import Glibc
import Logging

/// Turns a `SandboxSpec` into a running `Sandbox`. Safe to call from many threads at once:
/// each launch prepares its own request, and the C child path closes every descriptor it did
/// not ask for, so launches never see each other's pipes.
public struct SandboxLauncher: Sendable {
    /// $BATON_ROOT: sandboxes live under `<root>/sandboxes`.
    public let root: String
    /// Detected on first use: a launch without limits or accounting never needs it.
    public var cgroups: CgroupHierarchy? { cgroupOverride ?? CgroupHierarchy.host }
    private let cgroupOverride: CgroupHierarchy?
    public var userNamespace = UserNamespaceMapping()
    /// nil on the CLI's start path, where making a Logger costs more than its one debug line.
    let logger: Logger?

    /// Signals init passes on to the program.
    public static let forwardedSignals: [Int32] = [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT]

    /// No core dumps (they would land in a read-only root, or leak memory contents); a
    /// conventional descriptor limit, never above what the launcher itself may grant.
    static let resourceLimits: [SpawnRequest.ResourceLimit] = {
        var current = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &current)
        let hard = min(UInt64(current.rlim_max), 65_536)
        return [
            .init(resource: Int32(RLIMIT_CORE.rawValue), soft: 0, hard: 0),
            .init(resource: Int32(RLIMIT_NOFILE.rawValue), soft: min(1_024, hard), hard: hard),
        ]
    }()

    /// `cgroups` overrides the host's detected layout (tests drive the v2 code through a
    /// hybrid host's unified mount this way).
    public init(root: String, cgroups: CgroupHierarchy? = nil, logger: Logger? = nil) {
        self.root = root
        self.cgroupOverride = cgroups
        self.logger = logger
    }

    private func hierarchy() throws -> CgroupHierarchy {
        guard let cgroups else {
            throw BatonError(.setupFailed, "no cgroup hierarchy found in /proc/self/mountinfo; mount cgroup v1 controllers or cgroup v2")
        }
        return cgroups
    }

    /// The capability mask `--keep-cap` names, for a launch and an exec alike.
    static func keptCapabilities(_ names: [String]) throws(BatonError) -> UInt64 {
        switch Capabilities.mask(names) {
        case .success(let mask): return mask
        case .failure(let unknown):
            throw BatonError(.invalidArgument, "unknown capability '\(unknown.name)' (names as in capabilities(7), e.g. NET_BIND_SERVICE)")
        }
    }

    /// The BPF program `mode` loads, nil for unconfined. Checks the root first: the compiled
    /// program is kept there.
    func seccompProgram(_ mode: SandboxSpec.SeccompMode) throws -> [UInt64]? {
        guard mode == .default else { return nil }
        try StateRoot.prepare(root)
        return try SeccompProgramCache.program(named: "default", rules: { SeccompProfile.rules }, root: root)
    }

    /// The sandbox init's own filter (SeccompProfile.initRules) when the program has one.
    func initSeccompProgram(_ mode: SandboxSpec.SeccompMode) throws -> [UInt64]? {
        guard mode == .default else { return nil }
        return try SeccompProgramCache.program(named: "init", rules: { SeccompProfile.initRules }, root: root)
    }

    /// Whether the child builds its root while the record is written (SpawnRequest
    /// .setupBeforeRelease): not when it must first be given its id maps or be moved into a v1
    /// cgroup (a v2 one it is cloned into).
    static func setsUpBeforeRelease(_ spec: SandboxSpec, cgroup: Cgroup, cgroupFD: Int32?) -> Bool {
        !spec.userNamespace && (cgroup.paths.isEmpty || cgroupFD != nil)
    }

    public func launch(_ spec: SandboxSpec) throws -> Sandbox {
        try SpecValidation.validate(spec, userNamespace: userNamespace)
        let keep = try Self.keptCapabilities(spec.keepCapabilities)
        let seccomp = try seccompProgram(spec.seccomp)
        let initSeccomp = try initSeccompProgram(spec.seccomp)

        SandboxDirectory.sweepStale(root: root)
        let (directory, lockFD) = try SandboxDirectory.create(root: root, id: spec.id)
        var cgroup: Cgroup?
        var startedProcess: ProcessHandle?
        do {
            let skeleton = try SandboxSkeleton.ensure(root: root, owner: spec.userNamespace ? userNamespace.hostBase : nil)
            let ownLayer = spec.needsOwnLayer ? try SandboxLayer.create(root: root, spec: spec) : nil
            let needsCgroup = spec.memoryLimit != nil || spec.pidsLimit != nil || spec.cpus != nil || spec.cgroupAccounting
            let created = needsCgroup ? try Cgroup.create(name: spec.id, hierarchy: hierarchy(), memory: spec.memoryLimit, pids: spec.pidsLimit, cpus: spec.cpus,
                                         accounting: spec.cgroupAccounting) : Cgroup.none
            cgroup = created
            var request = makeRequest(spec, directory: directory, skeleton: skeleton, ownLayer: ownLayer, keep: keep, seccomp: seccomp)
            request.initSeccompProgram = initSeccomp
            let cgroupFD = try created.directoryFD()
            defer { if let cgroupFD { close(cgroupFD) } }
            request.cgroupFD = cgroupFD ?? -1
            request.setupBeforeRelease = Self.setsUpBeforeRelease(spec, cgroup: created, cgroupFD: cgroupFD)
            let logFD = try spec.log.map { log in
                try sys("open log directory \(log.directory)") { open(log.directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
            }
            defer { if let logFD { close(logFD) } }
            if let log = spec.log, let logFD {
                request.log = .init(directoryFD: logFD, name: SandboxLog.fileName, rotatedName: SandboxLog.rotatedFileName, maxBytes: log.maxBytes)
            }
            var identity: ProcessIdentity?
            let process: ProcessHandle
            do {
                process = try Spawner.spawn(request) { pid in
                    try created.add(pid: pid)
                    if spec.userNamespace { try userNamespace.write(for: pid) }
                    // Its sandbox end goes straight into the new network namespace, which takes
                    // the pair with it when the sandbox ends.
                    if let network = spec.network {
                        try NetworkLinks.createVeth(host: network.hostInterface, peer: network.interface.name, peerPID: pid,
                                                    master: network.bridgeIndex, mtu: network.linkMTU)
                        try NetworkLinks.isolatePort(network.hostInterface)
                    }
                    // Recorded before the child may run anything: a launcher killed from here
                    // on leaves a sandbox that recovery and `sweepStale` can find (a launcher
                    // killed earlier closes the sync pipe, and the child exits unrun).
                    guard let started = ProcessIdentity.of(pid: pid) else {
                        throw OSError("read /proc/\(pid)/stat", errno: ESRCH)
                    }
                    identity = started
                    try SandboxRecord(id: spec.id, initProcess: started, cgroupPaths: created.paths,
                                      userNamespace: spec.userNamespace, environment: spec.environment,
                                      artifactDigest: spec.artifactDigest).write(root: root)
                }
                startedProcess = process
            } catch let failure as SpawnFailure {
                throw SetupFailure.error(failure, program: spec.argv[0], workdir: spec.workdir, mounts: request.mounts)
            } catch let error as OSError {
                throw BatonError(.setupFailed, "sandbox setup failed: \(error.description)", cause: error)
            }
            FaultPoint.sandboxStarted.hit()
            logger?.debug("sandbox started", metadata: ["id": "\(spec.id)", "pid": "\(process.pid)"])
            return Sandbox(id: spec.id, process: process, cgroup: created, directory: directory, identity: identity, lockFD: lockFD)
        } catch {
            // A sandbox that started but could not be recorded must not run on unknown.
            if let process = startedProcess { try? process.signal(SIGKILL); _ = try? process.wait() }
            cgroup?.remove()
            SandboxDirectory.remove(directory, lockFD: lockFD)
            throw error
        }
    }

    func makeRequest(_ spec: SandboxSpec, directory: String, skeleton: String, ownLayer: String?, keep: UInt64,
                     seccomp: [UInt64]?) -> SpawnRequest {
        var request: SpawnRequest
        switch spec.root {
        case .directory(let path):
            // "." relative to the root directory: any path works, even one with ':' or ','.
            request = SpawnRequest(sandboxDirectory: directory, lowerDirs: ["."], argv: spec.argv)
            request.lowerBase = path
        case .layers(let paths):
            request = SpawnRequest(sandboxDirectory: directory, lowerDirs: paths, argv: spec.argv)
            // Short relative names keep the overlay options under the kernel's one-page limit.
            let parents = Set(paths.map { PathName.parent(of: $0) })
            if parents.count == 1, let parent = parents.first {
                request.lowerBase = parent
                request.lowerDirs = paths.map { PathName.lastComponent(of: $0) }
            }
        }
        request.upperDir = spec.writableLayer?.upper
        request.workDir = spec.writableLayer?.work
        request.namespaces = SpawnRequest.sandboxNamespaces(userNamespace: spec.userNamespace)
        request.dieWithParent = spec.dieWithParent
        // The sandbox's own layer sits under the skeleton, above the artifact (absolute, so it
        // needs no lower base).
        request.skeleton = ownLayer.map { skeleton + ":" + $0 } ?? skeleton
        request.mounts = MountPlan.mounts(tmpSize: spec.tmpSize, hostBinds: spec.hostBinds, binds: spec.binds)
        request.hostname = spec.hostname ?? spec.id
        request.interface = spec.network?.interface
        request.setProgram(environment: SandboxSpec.merging(spec.environment, spec.secretEnvironment), workdir: spec.workdir,
                           stdio: spec.stdio, user: spec.user,
                           userNamespace: spec.userNamespace, keepCapabilities: keep, seccomp: seccomp)
        request.controllingTerminal = spec.controllingTerminal
        request.initTitle = "baton-init \(spec.id)"
        return request
    }
}
