import BatonOS
import Glibc

/// A program to start inside a running sandbox (`baton exec`): it joins the sandbox's
/// namespaces and cgroup and gets the same confinement as the sandbox's own program — no
/// capabilities beyond those kept, no_new_privs, the seccomp profile.
public struct ExecSpec: Sendable {
    public var argv: [String]
    /// Added to (and overriding) the sandbox's own environment.
    public var environment: [String] = []
    public var workdir = "/"
    public var user: (uid: UInt32, gid: UInt32)?
    public var keepCapabilities: [String] = []
    public var seccomp: SandboxSpec.SeccompMode = .default
    public var stdio: [Int32] = [-1, -1, -1]
    /// `stdio[0]` is a pty: the program takes it as its controlling terminal.
    public var controllingTerminal = false

    public init(argv: [String]) {
        self.argv = argv
    }
}

extension SandboxLauncher {
    /// Starts `spec` in the sandbox `record` describes. The returned process relays signals
    /// to the program and exits with its status; it is the caller's child, so wait on it.
    public func exec(into record: SandboxRecord, _ spec: ExecSpec) throws -> ProcessHandle {
        guard let program = spec.argv.first, !program.isEmpty else {
            throw BatonError(.invalidArgument, "no program to run: give one after '--'")
        }
        guard spec.workdir.hasPrefix("/") else {
            throw BatonError(.invalidArgument, "working directory '\(spec.workdir)' must be an absolute path inside the sandbox")
        }
        try SpecValidation.refuseNUL(argv: spec.argv, environment: spec.environment, workdir: spec.workdir)
        let keep = try SandboxLauncher.keptCapabilities(spec.keepCapabilities)
        let target: ProcessHandle
        do {
            target = try ProcessHandle.attach(to: record.initProcess)
        } catch {
            throw BatonError(.notFound, "sandbox '\(record.id)' is no longer running", cause: error)
        }
        var request = SpawnRequest(sandboxDirectory: "", lowerDirs: [], argv: spec.argv)
        request.namespaces = SpawnRequest.sandboxNamespaces(userNamespace: record.userNamespace)
        request.setProgram(environment: SandboxSpec.merging(record.environment, spec.environment), workdir: spec.workdir,
                           stdio: spec.stdio, user: spec.user, userNamespace: record.userNamespace, keepCapabilities: keep,
                           seccomp: try seccompProgram(spec.seccomp))
        request.controllingTerminal = spec.controllingTerminal
        let cgroup = Cgroup(hierarchy: cgroups ?? .v1([:]), paths: record.cgroupPaths)
        let cgroupFD = try cgroup.directoryFD()
        defer { if let cgroupFD { close(cgroupFD) } }
        request.cgroupFD = cgroupFD ?? -1
        do {
            return try Spawner.spawn(into: target, request) { pid in try cgroup.add(pid: pid) }
        } catch let failure as SpawnFailure {
            throw SetupFailure.error(failure, program: program, workdir: spec.workdir, mounts: [])
        } catch let error as OSError {
            throw BatonError(.setupFailed, "exec into sandbox '\(record.id)' failed: \(error.description)", cause: error)
        }
    }
}
