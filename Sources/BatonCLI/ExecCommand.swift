import ArgumentParser
import BatonCommandLine
import BatonOS
import BatonSandbox

/// `baton exec`: a program inside a running sandbox, with the sandbox's confinement.
struct ExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a program inside a running sandbox.",
        discussion: """
        The program joins the sandbox's namespaces, root and cgroup, with no capabilities \
        (unless kept), no_new_privs and the default seccomp profile. Exits with its status.
        """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Set an environment variable (on top of the sandbox's).", valueName: "K=V"))
    var env: [String] = []
    @Option(help: "Working directory inside the sandbox.")
    var workdir: String = "/"
    @Option(help: ArgumentHelp("Run as this user (and group).", valueName: "uid[:gid]"))
    var user: String?
    @Option(name: .customLong("keep-cap"), help: ArgumentHelp("Keep this capability.", valueName: "cap"))
    var keepCap: [String] = []
    @Option(help: ArgumentHelp("Seccomp profile: default or unconfined.", valueName: "profile"))
    var seccomp: String = "default"
    @Flag(name: [.customShort("t"), .long], help: "Give the program a terminal (a pty Baton owns) instead of pipes.")
    var tty = false
    @Flag(name: [.customShort("i"), .long], help: "Accepted for familiarity: stdin is always passed on.")
    var interactive = false

    @Argument(help: "The sandbox's id or name.")
    var sandbox: String
    @Argument(parsing: .postTerminator, help: ArgumentHelp("Program and arguments, after '--'.", valueName: "program"))
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("give a program after '--': baton exec SANDBOX -- PROGRAM ARGS…") }
        if SandboxSpec.SeccompMode(rawValue: seccomp) == nil { throw ValidationError("--seccomp must be 'default' or 'unconfined'") }
        if let user, UserSpec.parse(user) == nil { throw ValidationError("--user '\(user)' must be UID or UID:GID (numbers)") }
    }

    func run() throws {
        try global.refuseRemote("exec", instead: "run it on that host (ssh HOST baton …)")
        try SignalWait.blockSignals(SandboxLauncher.forwardedSignals)
        let record = try SandboxRecord.running(root: global.rootPath, id: sandbox)
        var spec = ExecSpec(argv: command)
        spec.environment = env
        spec.workdir = workdir
        spec.user = user.flatMap(UserSpec.parse)
        spec.keepCapabilities = keepCap
        spec.seccomp = SandboxSpec.SeccompMode(rawValue: seccomp) ?? .default
        // Never our own descriptors: see StdioRelay.
        let relay = try tty ? StdioRelay(terminal: ()) : StdioRelay()
        spec.stdio = relay.childEnds
        spec.controllingTerminal = relay.isTerminal
        let process = try SandboxLauncher(root: global.rootPath).exec(into: record, spec)
        relay.closeChildEnds()
        switch try SignalWait.wait(for: process, forwarding: SandboxLauncher.forwardedSignals, timeout: nil, relay: relay) {
        case .exited(let exit): throw CommandExit(status: exit.shellStatus)
        case .timedOut: throw CommandExit(status: 124)
        }
    }
}
