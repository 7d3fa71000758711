import ArgumentParser
import BatonControl
import BatonOS

/// `baton app create APP --host HOST… [--upstream ADDR:PORT | sandbox settings]`.
struct AppCreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create an app: its host names and where its traffic goes.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "App name: lower-case letters, digits and '-'.")
    var app: String

    @Option(name: .customLong("host"), help: ArgumentHelp("Host name served (repeatable; *.suffix for all subdomains).", valueName: "host"))
    var hosts: [String] = []

    @Option(help: ArgumentHelp("Route to a service outside Baton.", valueName: "addr:port"))
    var upstream: String?

    @Option(help: ArgumentHelp("Port the app listens on in its sandbox.", valueName: "n"))
    var port: Int?

    @Option(help: ArgumentHelp("Health check path.", valueName: "path"))
    var healthPath: String?

    @Option(help: ArgumentHelp("Health check status expected.", valueName: "code"))
    var healthStatus: Int?

    @Option(help: ArgumentHelp("Seconds a new sandbox has to become healthy.", valueName: "seconds"))
    var healthTimeout: Double?

    @Option(help: ArgumentHelp("Seconds the old sandbox may finish requests after a swap.", valueName: "seconds"))
    var drainTimeout: Double?

    @Option(help: ArgumentHelp("Memory limit of the app's sandboxes.", valueName: "bytes"))
    var memory: Int64?

    @Option(help: ArgumentHelp("Process limit of the app's sandboxes.", valueName: "n"))
    var pids: Int?

    @Option(help: ArgumentHelp("Environment variable (repeatable).", valueName: "k=v"))
    var env: [String] = []

    @Option(help: ArgumentHelp("CPU limit of the app's sandboxes in cores.", valueName: "x"))
    var cpus: Double?

    @Option(help: ArgumentHelp("Secret: in the sandbox's environment, never printed (repeatable).", valueName: "k=v"))
    var secret: [String] = []

    @Option(name: .customLong("secret-file"), help: ArgumentHelp("Secret read from a file, at most 64 KiB (repeatable).", valueName: "k=path"))
    var secretFile: [String] = []

    @Flag(help: "Print the app as JSON.")
    var json = false

    func validate() throws {
        if hosts.isEmpty { throw ValidationError("missing --host: an app needs at least one host name") }
        if upstream != nil && (port != nil || memory != nil || pids != nil || !env.isEmpty || cpus != nil || !secret.isEmpty || !secretFile.isEmpty) {
            throw ValidationError("--upstream apps run outside Baton: --port, --memory, --pids, --cpus, --env and secrets do not apply")
        }
        for entry in secretFile where SecretFile.parse(entry) == nil {
            throw ValidationError("invalid --secret-file '\(entry)': use KEY=PATH")
        }
    }

    func run() throws {
        let spec = AppSpec(
            name: app, hosts: hosts, upstream: upstream, port: port, healthPath: healthPath,
            healthStatus: healthStatus, healthTimeout: healthTimeout, drainTimeout: drainTimeout, memory: memory,
            pids: pids, env: env, cpus: cpus, secrets: secret + (try SecretFile.entries(secretFile)))
        let created = try global.controlClient.createApp(spec)
        if json {
            try Output.json(created)
        } else {
            Output.result(created.name)
        }
    }
}
