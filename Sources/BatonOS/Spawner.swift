import CShims
import Glibc

/// Why the child path failed: the stage, the index of the mount or rlimit at fault, and errno.
public struct SpawnFailure: Error, Sendable, Equatable {
    public let stage: Int32
    public let index: Int32
    public let errno: Int32
}

/// Clones a sandbox through the C child path.
public enum Spawner {
    /// Starts the child and lets it run once `prepare` (cgroup placement, id maps) succeeds.
    /// Returns when the program has exec'd. If `prepare` throws, the child exits without
    /// running anything and is reaped before the error propagates.
    public static func spawn(
        _ request: SpawnRequest, prepare: (pid_t) throws -> Void
    ) throws -> ProcessHandle {
        try start(request, prepare: prepare) { config, handle in bt_spawn(config, handle) }
    }

    /// Starts `request`'s program inside the running sandbox whose init is `target`, joining
    /// the namespaces in `request.namespaces`. The returned process relays signals to the
    /// program and exits with its status.
    public static func spawn(
        into target: ProcessHandle, _ request: SpawnRequest, prepare: (pid_t) throws -> Void
    ) throws -> ProcessHandle {
        let spawned = try target.withPidFD { targetFD in
            try start(request, prepare: prepare) { config, handle in bt_spawn_into(config, targetFD, handle) }
        }
        guard let spawned else { throw OSError("clone3 into sandbox init \(target.pid)", errno: EBADF) }
        return spawned
    }

    private static func start(
        _ request: SpawnRequest, prepare: (pid_t) throws -> Void,
        clone: (UnsafePointer<bt_spawn_config>, UnsafeMutablePointer<bt_spawn_handle>) -> Int32
    ) throws -> ProcessHandle {
        // Callers validate first (with a message for the user); this is the last line, since a
        // NUL would silently cut a string short on its way to C.
        if let truncated = request.stringsForC.first(where: { $0.utf8.contains(0) }) {
            throw OSError("spawn: NUL byte in '\(truncated.prefix { $0 != "\0" })…'", errno: EINVAL)
        }
        var handle = bt_spawn_handle()
        let arena = CArena()
        defer { arena.free() }
        var config = arena.config(for: request)
        try sys("clone3") { clone(&config, &handle) }
        // The child has its own copy of every byte it needs now.
        let process = ProcessHandle(pid: handle.pid, pidfd: handle.pidfd)
        do {
            try prepare(handle.pid)
            try sys("write(sync pipe)") { bt_spawn_release(&handle) }
        } catch {
            if handle.sync_fd >= 0 { close(handle.sync_fd) }
            close(handle.report_fd)
            _ = try? process.wait()
            throw error
        }
        var report = bt_spawn_report()
        let outcome = try sys("read(report pipe)") { bt_spawn_wait_exec(&handle, &report) }
        if outcome == 1 {
            // Setup failed: the program never ran. Reap init (it exits once the program half does).
            try? process.signal(SIGKILL)
            _ = try? process.wait()
            throw SpawnFailure(stage: report.stage, index: report.index, errno: report.error)
        }
        return process
    }
}

/// Owns the C strings and arrays handed to bt_spawn; freed once clone has copied them.
private final class CArena {
    private var releases: [() -> Void] = []

    func string(_ value: String?) -> UnsafePointer<CChar>? {
        guard let value else { return nil }
        let copy = strdup(value)!
        releases.append { Glibc.free(copy) }
        return UnsafePointer(copy)
    }

    func array<T>(_ values: [T]) -> UnsafePointer<T>? {
        let buffer = UnsafeMutablePointer<T>.allocate(capacity: max(values.count, 1))
        buffer.initialize(from: values, count: values.count)
        releases.append { buffer.deallocate() }
        return UnsafePointer(buffer)
    }

    /// A NULL-terminated array of C strings.
    func strings(_ values: [String]) -> UnsafePointer<UnsafePointer<CChar>?>? {
        array(values.map { string($0) } + [nil])
    }

    func config(for r: SpawnRequest) -> bt_spawn_config {
        var c = bt_spawn_config()
        c.namespaces = r.namespaces
        c.die_with_parent = r.dieWithParent ? 1 : 0
        c.cgroup_fd = r.cgroupFD
        c.setup_before_release = r.setupBeforeRelease ? 1 : 0
        c.sandbox_dir = string(r.sandboxDirectory)
        c.skeleton = string(r.skeleton)
        c.lowerdirs = string(r.lowerDirs.joinedPlain(separator: ":"))
        c.lower_base = string(r.lowerBase)
        c.upper_dir = string(r.upperDir)
        c.work_dir = string(r.workDir)
        c.mounts = array(r.mounts.map { m in
            bt_mount_op(kind: m.kind.rawValue, source: string(m.source), target: string(m.target),
                        fstype: string(m.fstype), flags: m.flags, data: string(m.data), rdev: m.rdev)
        })
        c.mount_count = r.mounts.count
        c.hostname = string(r.hostname)
        c.loopback_up = r.loopbackUp ? 1 : 0
        if let interface = r.interface {
            c.net_interface = string(interface.name)
            c.net_address = interface.address.networkOrder
            c.net_prefix = Int32(interface.prefix)
            c.net_gateway = interface.gateway.networkOrder
            c.net_route_mtu = interface.routeMTU
        }
        c.argv = strings(r.argv)
        c.envp = strings(r.environment)
        c.search_path = string(r.searchPath)
        c.workdir = string(r.workdir)
        c.stdio_fds = (r.stdio[0], r.stdio[1], r.stdio[2])
        c.controlling_tty = r.controllingTerminal ? 1 : 0
        c.log_dir_fd = r.log?.directoryFD ?? -1
        if let log = r.log {
            c.log_name = string(log.name)
            c.log_rotated_name = string(log.rotatedName)
            c.log_max_bytes = log.maxBytes
        }
        if let user = r.user {
            c.set_ids = 1
            c.uid = user.uid
            c.gid = user.gid
        }
        c.clear_groups = r.clearSupplementaryGroups ? 1 : 0
        c.keep_caps = r.keepCapabilities
        c.last_cap = Int32(r.lastCapability)
        if let program = r.seccompProgram {
            c.seccomp_filter = array(program).map { UnsafeRawPointer($0).assumingMemoryBound(to: sock_filter.self) }
            c.seccomp_len = UInt16(program.count)
        }
        if let program = r.initSeccompProgram {
            c.init_seccomp_filter = array(program).map { UnsafeRawPointer($0).assumingMemoryBound(to: sock_filter.self) }
            c.init_seccomp_len = UInt16(program.count)
        }
        c.rlimits = array(r.resourceLimits.map { bt_rlimit(resource: $0.resource, soft: $0.soft, hard: $0.hard) })
        c.rlimit_count = r.resourceLimits.count
        if let title = r.initTitle {
            c.init_title = string(title)
            if let area = ArgvArea.current {
                c.argv_area = area.start
                c.argv_area_len = area.length
            }
        }
        c.forward_signals = array(r.forwardedSignals)
        c.forward_count = r.forwardedSignals.count
        return c
    }

    func free() {
        for release in releases { release() }
        releases.removeAll()
    }
}

/// The process's own argv strings, which the kernel laid out back to back: the clone's copy
/// of this area is what /proc/PID/cmdline shows for it.
private enum ArgvArea {
    nonisolated(unsafe) static let current: (start: UnsafeMutablePointer<CChar>, length: Int)? = {
        let argv = CommandLine.unsafeArgv
        guard CommandLine.argc > 0, let first = argv[0] else { return nil }
        var end = first
        for index in 0..<Int(CommandLine.argc) {
            guard let argument = argv[index], argument == end else { break }
            end = argument + strlen(argument) + 1
        }
        return (first, end - first)
    }()
}

extension SpawnFailure {
    /// Stages a caller tells apart, as the C child path numbers them.
    public static let mountStage = Int32(BT_STAGE_MOUNT_OP.rawValue)
    public static let workdirStage = Int32(BT_STAGE_WORKDIR.rawValue)
    public static let execStage = Int32(BT_STAGE_EXEC.rawValue)

    /// What the child was doing when it failed, in words.
    public var stageName: String {
        switch bt_stage(rawValue: UInt32(stage)) {
        case BT_STAGE_CLONE: "clone"
        case BT_STAGE_SYNC: "sync with parent"
        case BT_STAGE_CLOSE_FDS: "closing inherited descriptors"
        case BT_STAGE_PDEATHSIG: "parent-death signal"
        case BT_STAGE_CGROUP_NS: "cgroup namespace"
        case BT_STAGE_MOUNT_PRIVATE: "private mount propagation"
        case BT_STAGE_SANDBOX_DIR: "sandbox directory"
        case BT_STAGE_OVERLAY: "overlay root"
        case BT_STAGE_MOUNT_OP: "mount"
        case BT_STAGE_PIVOT_ROOT: "pivot_root"
        case BT_STAGE_HOSTNAME: "hostname"
        case BT_STAGE_LOOPBACK: "loopback interface"
        case BT_STAGE_NETWORK: "network interface"
        case BT_STAGE_DUMPABLE: "non-dumpable init"
        case BT_STAGE_FORK: "fork of the program"
        case BT_STAGE_STDIO: "stdio"
        case BT_STAGE_SETSID: "setsid"
        case BT_STAGE_WORKDIR: "working directory"
        case BT_STAGE_RLIMIT: "rlimit"
        case BT_STAGE_SETGROUPS: "setgroups"
        case BT_STAGE_SETGID: "setgid"
        case BT_STAGE_SETUID: "setuid"
        case BT_STAGE_CAPABILITIES: "capabilities"
        case BT_STAGE_NO_NEW_PRIVS: "no_new_privs"
        case BT_STAGE_SECCOMP: "seccomp"
        case BT_STAGE_EXEC: "exec"
        case BT_STAGE_INIT: "init"
        case BT_STAGE_LOG: "log file"
        case BT_STAGE_SETNS: "joining the sandbox's namespaces"
        default: "stage \(stage)"
        }
    }
}
