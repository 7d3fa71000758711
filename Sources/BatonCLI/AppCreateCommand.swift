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

    @OptionGroup var settings: AppConfigOptions

    @OptionGroup var volumes: VolumeOptions

    @OptionGroup var strategy: StrategyOptions

    @OptionGroup var proxy: AppProxyOptions

    @OptionGroup var longLived: AppDrainOptions

    @OptionGroup var smoke: AppSmokeOptions
    @OptionGroup var bake: BakeOptions
    @OptionGroup var replicas: AppReplicaOptions

    @Option(help: ArgumentHelp("egress (an address on Baton's bridge, outbound through NAT; the default) or none (loopback only).", valueName: "mode"))
    var network: String?

    @Option(name: .customLong("egress-allow"), help: ArgumentHelp("Limit outbound traffic to this destination (repeatable).", valueName: "cidr[:port]"))
    var egressAllow: [String] = []

    @Flag(help: "Print the app as JSON.")
    var json = false

    func validate() throws {
        if hosts.isEmpty { throw ValidationError("missing --host: an app needs at least one host name") }
        if upstream != nil && settings.sandboxOnlyGiven {
            throw ValidationError("--upstream apps run outside Baton: --port, --memory, --pids, --cpus, --env and secrets do not apply")
        }
        if strategy.holdTimeout != nil && strategy.strategy != .stopFirst {
            throw ValidationError("--hold-timeout applies to --strategy stop-first")
        }
    }

    func run() throws {
        var spec = AppSpec(
            name: app, hosts: hosts, upstream: upstream, port: settings.port, healthPath: settings.healthPath,
            healthStatus: settings.healthStatus, healthTimeout: settings.healthTimeout, drainTimeout: settings.drainTimeout,
            memory: settings.memory, pids: settings.pids, env: settings.env, cpus: settings.cpus,
            secrets: settings.secret + (try SecretFile.entries(settings.secretFile)),
            network: network, egressAllow: egressAllow.isEmpty ? nil : egressAllow)
        spec.volumes = volumes.parsed
        strategy.apply(to: &spec)
        proxy.apply(to: &spec)
        longLived.apply(to: &spec)
        try smoke.apply(to: &spec)
        try bake.apply(to: &spec)
        replicas.apply(to: &spec)
        let client = try global.controlClient
        let created = try client.createApp(spec)
        if json {
            try Output.json(created)
        } else {
            // The name first (scripts read it), then where the app will answer.
            Output.result(created.name + (AppURLs(client: client).joined(created.hosts).map { " at " + $0 } ?? ""))
        }
    }
}
