import ArgumentParser
import BatonCommandLine
import BatonNetwork
import BatonOS
import BatonSandbox
import BatonStore
import FoundationEssentials

/// `baton run`: one sandbox in the foreground, stdio attached, exiting with the program's status.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a program in a new sandbox on a read-only root.",
        discussion: """
        Exits with the program's status (128+N when signal N killed it, 124 on --timeout, \
        127 when the program is not in the root). The sandbox is always removed when it ends; \
        --rm is accepted for familiarity.
        """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Remove the sandbox when it exits (always the case for one-off sandboxes).")
    var rm = false
    @Option(help: "Sandbox name (default: a random id); also the default hostname.")
    var name: String?
    @Option(help: ArgumentHelp("Set an environment variable.", valueName: "K=V"))
    var env: [String] = []
    @Option(help: "Hostname inside the sandbox (default: the sandbox's id).")
    var hostname: String?
    @Option(help: "Working directory inside the root.")
    var workdir: String?
    @Option(help: ArgumentHelp("Memory limit in bytes; k, m, g suffixes accepted.", valueName: "bytes"))
    var memory: String?
    @Option(help: "Maximum number of processes and threads.")
    var pids: Int?
    @Option(help: "CPU limit in cores, e.g. 0.5.")
    var cpus: Double?
    @Option(help: ArgumentHelp("Run the program as this user (and group).", valueName: "uid[:gid]"))
    var user: String?
    @Flag(help: "Add a user namespace: root inside maps to an unprivileged host id range.")
    var userns = false
    @Option(name: .customLong("keep-cap"), help: ArgumentHelp("Keep this capability (e.g. NET_BIND_SERVICE); all others are dropped.", valueName: "cap"))
    var keepCap: [String] = []
    @Option(help: ArgumentHelp("Seccomp profile: default or unconfined.", valueName: "profile"))
    var seccomp: String = "default"
    @Option(help: "Kill the sandbox after this many seconds (exit status 124).")
    var timeout: Double?
    @Option(help: ArgumentHelp("Run with this directory as the read-only root instead of an artifact.", valueName: "dir"))
    var rootfs: String?
    @Option(help: ArgumentHelp("Bind a host directory into the sandbox (nosuid, nodev; read-only with :ro).", valueName: "hostdir:/path[:ro]"))
    var volume: [String] = []
    @Option(help: ArgumentHelp("none (only loopback) or egress (an address on Baton's bridge, outbound through NAT).", valueName: "mode"))
    var network: String = "none"
    @Flag(name: [.customShort("t"), .long], help: "Give the program a terminal (a pty Baton owns) instead of pipes.")
    var tty = false
    @Flag(name: [.customShort("i"), .long], help: "Accepted for familiarity: stdin is always passed on.")
    var interactive = false

    @Argument(help: ArgumentHelp("Artifact: NAME:VERSION, NAME@sha256:<hex> or sha256:<hex>.", valueName: "ref"))
    var ref: String?
    @Argument(parsing: .postTerminator, help: ArgumentHelp("Program and arguments, after '--'.", valueName: "program"))
    var command: [String] = []

    var arguments: RunArguments {
        RunArguments(root: global.rootPath, name: name, env: env, hostname: hostname, workdir: workdir, memory: memory,
                     pids: pids, cpus: cpus, user: user, userns: userns, keepCap: keepCap, seccomp: seccomp,
                     timeout: timeout, rootfs: rootfs, volume: volume, network: network, tty: tty, ref: ref, command: command)
    }

    func validate() throws {
        if let problem = arguments.problem { throw ValidationError(problem) }
    }

    func run() throws {
        try global.refuseRemote("run", instead: "publish, then 'baton artifact push REF ssh://HOST' and 'baton --host ssh://HOST deploy', or run it on that host")
        try arguments.run()
    }
}

extension RunArguments {
    func run() throws {
        // Before any thread exists, so these reach us through the signalfd and go to the sandbox.
        try SignalWait.blockSignals(SandboxLauncher.forwardedSignals)
        let launcher = SandboxLauncher(root: root)
        let relay = try tty ? StdioRelay(terminal: ()) : StdioRelay()
        var attachment: SandboxNetworking.Attachment?
        let networking = try network == "egress" ? egressNetworking() : nil
        let launch = {
            var spec = try makeSpec()
            spec.dieWithParent = true
            spec.stdio = relay.childEnds
            spec.controllingTerminal = relay.isTerminal
            if let networking {
                let attached = try networking.attach(id: spec.id, hostname: spec.hostname ?? spec.id, egress: [])
                attachment = attached
                spec.network = attached.network
                spec.files += attached.files
            }
            return (spec, try launcher.launch(spec))
        }
        // The address goes back once the sandbox is gone, however it ended.
        defer { if let networking, let lease = attachment?.lease { networking.detach(lease) } }
        // An artifact's layers stay held until the sandbox's record names them (see gc).
        let (spec, sandbox) = try ref == nil ? launch() : ArtifactStore(root: root).holdingLayers(launch)
        relay.closeChildEnds()
        let exit = try sandbox.waitAndDestroy(timeout: timeout, forwarding: SandboxLauncher.forwardedSignals, relay: relay)
        if exit.timedOut {
            Output.progress("error: sandbox \(spec.id) timed out after \(RunCommand.format(timeout ?? 0)) s and was killed")
        } else if exit.oomKilled {
            Output.progress("error: sandbox \(spec.id) ran out of memory (limit \(spec.memoryLimit.map(String.init) ?? "none") bytes); the kernel killed a process")
        }
        throw CommandExit(status: exit.status)
    }

    /// The root's bridge, made if this is its first egress sandbox.
    private func egressNetworking() throws -> SandboxNetworking {
        try StateRoot.prepare(root)
        return SandboxNetworking(bridge: try Bridge.ensure(root: root, settings: try NetworkSettings.load(root: root)))
    }

    func makeSpec() throws -> SandboxSpec {
        let id = name ?? SandboxID.random()
        var spec: SandboxSpec
        if let rootfs {
            spec = SandboxSpec(id: id, root: .directory(PathName.absolute(rootfs)), argv: command)
            spec.environment = SandboxSpec.merging(spec.environment, ["BATON_SANDBOX=\(id)"])
        } else {
            spec = try ArtifactRun.spec(id: id, ref: ref!, root: root, command: command)
        }
        spec.environment = SandboxSpec.merging(spec.environment, env)
        if let workdir { spec.workdir = workdir }
        spec.hostname = hostname
        spec.memoryLimit = memory.flatMap(ByteCount.parse)
        spec.pidsLimit = pids
        spec.cpus = cpus
        spec.user = user.flatMap(UserSpec.parse)
        spec.userNamespace = userns
        spec.keepCapabilities = keepCap
        spec.seccomp = SandboxSpec.SeccompMode(rawValue: seccomp) ?? .default
        spec.binds = try volume.map { text in
            guard let bind = VolumeSpec.parse(text) else {
                throw BatonError(.invalidArgument, "--volume '\(text)' must be HOSTDIR:/path or HOSTDIR:/path:ro")
            }
            if let problem = VolumeSpec.hostProblem(bind.source) {
                throw BatonError(.invalidArgument, "--volume host directory '\(bind.source)' \(problem)")
            }
            return bind
        }
        return spec
    }
}

extension RunCommand {
    static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}
