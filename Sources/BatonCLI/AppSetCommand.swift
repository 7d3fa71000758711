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

    @OptionGroup var settings: AppConfigOptions

    @Option(help: ArgumentHelp("Remove a variable or secret (repeatable).", valueName: "k"))
    var unset: [String] = []

    @Flag(help: "Print the result (the app, the version, the deployment) as JSON.")
    var json = false

    func validate() throws {
        if change.isEmpty && settings.secretFile.isEmpty {
            throw ValidationError("nothing to set: give --env, --unset, --secret, --secret-file, a limit or a health setting")
        }
    }

    /// The change the flags ask for, secret files not yet read.
    private var change: AppConfigChange {
        var change = AppConfigChange()
        change.env = settings.env
        change.unset = unset
        change.secrets = settings.secret
        change.port = settings.port
        change.memory = settings.memory
        change.pids = settings.pids
        change.cpus = settings.cpus
        change.healthPath = settings.healthPath
        change.healthStatus = settings.healthStatus
        change.healthTimeout = settings.healthTimeout
        change.drainTimeout = settings.drainTimeout
        return change
    }

    func run() throws {
        var change = self.change
        change.secrets += try SecretFile.entries(settings.secretFile)
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
