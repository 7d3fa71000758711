import ArgumentParser
import BatonCommandLine
import BatonControl
import BatonOS

/// `baton app set APP [--env K=V]… [--unset K]… [--secret K=V]… [--secret-file K=PATH]… [limits, health]`:
/// a new configuration version, swapped in like a deploy of the digest serving now.
struct AppSetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Change an app's configuration: a health-gated swap to the same artifact with it.",
        discussion: """
            Each change is a new configuration version, recorded in 'baton history' and undone by \
            'baton rollback'. If the new sandbox fails its health check the old one keeps serving \
            with the old configuration. An app that serves nothing only stores it for its next deploy. \
            Secret values are never printed: 'baton app inspect' shows KEY=<secret>.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "App name.")
    var app: String

    @Option(help: ArgumentHelp("Set an environment variable (repeatable).", valueName: "k=v"))
    var env: [String] = []

    @Option(help: ArgumentHelp("Remove a variable or secret (repeatable).", valueName: "k"))
    var unset: [String] = []

    @Option(help: ArgumentHelp("Set a secret (repeatable); prefer --secret-file, which keeps it out of the process list.", valueName: "k=v"))
    var secret: [String] = []

    @Option(name: .customLong("secret-file"), help: ArgumentHelp("Set a secret to a file's contents, at most 64 KiB (repeatable).", valueName: "k=path"))
    var secretFile: [String] = []

    @Option(help: ArgumentHelp("Port the app listens on in its sandbox (its PORT).", valueName: "n"))
    var port: Int?

    @Option(help: ArgumentHelp("Memory limit of the app's sandboxes (0: none).", valueName: "bytes"))
    var memory: Int64?

    @Option(help: ArgumentHelp("Process limit of the app's sandboxes (0: none).", valueName: "n"))
    var pids: Int?

    @Option(help: ArgumentHelp("CPU limit of the app's sandboxes in cores (0: none).", valueName: "x"))
    var cpus: Double?

    @Option(help: ArgumentHelp("Health check path.", valueName: "path"))
    var healthPath: String?

    @Option(help: ArgumentHelp("Health check status expected.", valueName: "code"))
    var healthStatus: Int?

    @Option(help: ArgumentHelp("Seconds a new sandbox has to become healthy.", valueName: "seconds"))
    var healthTimeout: Double?

    @Option(help: ArgumentHelp("Seconds the old sandbox may finish requests after a swap.", valueName: "seconds"))
    var drainTimeout: Double?

    @Flag(help: "Print the result (the app, the version, the deployment) as JSON.")
    var json = false

    func validate() throws {
        if change.isEmpty && secretFile.isEmpty {
            throw ValidationError("nothing to set: give --env, --unset, --secret, --secret-file, a limit or a health setting")
        }
        for entry in secretFile where SecretFile.parse(entry) == nil {
            throw ValidationError("invalid --secret-file '\(entry)': use KEY=PATH")
        }
    }

    /// The change the flags ask for, secret files not yet read.
    private var change: AppConfigChange {
        var change = AppConfigChange()
        change.env = env
        change.unset = unset
        change.secrets = secret
        change.port = port
        change.memory = memory
        change.pids = pids
        change.cpus = cpus
        change.healthPath = healthPath
        change.healthStatus = healthStatus
        change.healthTimeout = healthTimeout
        change.drainTimeout = drainTimeout
        return change
    }

    func run() throws {
        var change = self.change
        change.secrets += try SecretFile.entries(secretFile)
        let client = global.controlClient
        let watcher = json ? nil : PhaseWatcher(client: client, app: app)
        defer { watcher?.finish() }
        let result = try client.configure(app: app, AppConfigRequest(change: change))
        watcher?.finish()
        let version = result.configVersion.map { "configuration \($0)" } ?? "its configuration"
        if json {
            try Output.json(result)
            if let record = result.deployment, record.outcome != "succeeded" { throw CommandExit(status: 1) }
            return
        }
        guard let record = result.deployment else {
            if result.changes.isEmpty {
                Output.result("\(app): \(version) unchanged")
            } else if result.app.kind == .upstream {
                Output.result("\(app): \(version) stored")
            } else {
                Output.result("\(app): \(version) stored; nothing serves \(app), its next deploy starts with it")
            }
            return
        }
        try DeploymentReport.finish(record, json: false, alreadyPrinted: watcher?.printed ?? 0,
                                    served: "\(app) now serves \(record.toDigest) with \(version)")
    }
}
