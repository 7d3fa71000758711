import ArgumentParser
import BatonCommandLine
import BatonControl
import BatonOS

/// `baton app set APP [--env K=V]… [--unset K]… [--secret K=V]… [--secret-file K=PATH]… [limits, health]
/// [--volume …]… [--strategy S] [--hold-timeout S] [--[no-]https-redirect] [--[no-]hsts]
/// [--upstream-protocol P] [--smoke CHECK]… [--smoke-file F]… [--no-smoke]`: a new configuration
/// version, swapped in like a deploy of the digest serving now. Volumes, the strategy, the proxy
/// settings and the smoke checks are the app's own settings (not versioned): stored at once; new
/// volumes reach the app through a swap to the same bytes, the proxy settings apply to the next
/// request, the smoke checks to the next swap.
struct AppSetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Change an app's configuration: a health-gated swap to the same artifact with it.",
        discussion: """
            Each change is a new configuration version, recorded in 'baton history' and undone by \
            'baton rollback'. If the new sandbox fails its health check the old one keeps serving \
            with the old configuration. An app that serves nothing only stores it for its next deploy. \
            Secret values are never printed: 'baton app inspect' shows KEY=<secret>. \
            --volume replaces the app's volumes with those given (a volume left out is kept on \
            disk, see 'baton volume ls'); they are stored at once and mounted by a swap to the \
            same artifact. --strategy, --hold-timeout and the smoke checks (--smoke, --smoke-file, --no-smoke) apply from the next deploy; \
            --https-redirect, --hsts and --upstream-protocol (and their --no- forms) at once, \
            without a swap.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "App name.")
    var app: String

    @OptionGroup var settings: AppConfigOptions

    @Option(help: ArgumentHelp("Remove a variable or secret (repeatable).", valueName: "k"))
    var unset: [String] = []

    @OptionGroup var volumes: VolumeOptions

    @OptionGroup var strategy: StrategyOptions

    @OptionGroup var proxy: AppProxyOptions

    @OptionGroup var longLived: AppDrainOptions

    @OptionGroup var smoke: AppSmokeOptions

    @OptionGroup var bake: BakeOptions

    @OptionGroup var replicas: AppReplicaOptions

    @Flag(help: "Print the result (the app, the version, the deployment) as JSON.")
    var json = false

    func validate() throws {
        if change.isEmpty && settings.secretFile.isEmpty && !appSettingsGiven {
            throw ValidationError("nothing to set: give --env, --unset, --secret, --secret-file, a limit, a health setting, --volume, --strategy, a proxy setting or a deploy setting (--smoke, --bake, --drain-long-timeout, --replicas)")
        }
    }

    private var appSettingsGiven: Bool {
        proxy.given || deploySettingsGiven
    }

    /// Settings of the app's own (not a configuration version) that its next deploy uses.
    private var deploySettingsGiven: Bool {
        !volumes.volumes.isEmpty || strategy.strategy != nil || strategy.holdTimeout != nil || longLived.given || smoke.given || bake.given
            || replicas.given
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
        // A bad check is refused before anything is stored.
        _ = try smoke.parsed()
        var change = self.change
        change.secrets += try SecretFile.entries(settings.secretFile)
        let client = try global.controlClient
        if !change.isEmpty && appSettingsGiven {
            // A configuration the daemon would refuse must not leave new volumes stored.
            _ = try client.configure(app: app, AppConfigRequest(change: change, dryRun: true))
        }
        let volumesChanged = try updateAppSettings(client)
        if change.isEmpty && !volumesChanged {
            if !json { Output.result(storedMessage) }
            return
        }
        let watcher = json ? nil : PhaseWatcher(client: client, app: app)
        defer { watcher?.finish() }
        var result = try client.configure(app: app, AppConfigRequest(change: change))
        if result.deployment == nil, volumesChanged, let digest = result.app.digest {
            // Same bytes and configuration: only a new sandbox mounts the new volumes.
            result.deployment = try client.deploy(app: app, ref: digest)
        }
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

    /// What `app set` says when it only stored app settings: the proxy's take effect at once,
    /// a strategy from the next deploy.
    private var storedMessage: String {
        switch (proxy.given, deploySettingsGiven) {
        case (true, false): return "\(app): settings stored; the proxy applies them now"
        case (true, true): return "\(app): settings stored; the proxy's apply now, the others from its next deploy"
        default: return "\(app): settings stored; they apply from its next deploy"
        }
    }

    /// Stores --volume, --strategy, --hold-timeout and the proxy settings on the app, keeping
    /// its other settings; returns whether its volumes changed.
    private func updateAppSettings(_ client: ControlClient) throws -> Bool {
        guard appSettingsGiven else { return false }
        let current = try client.app(named: app)
        var spec = AppSpec(name: current.name, hosts: current.hosts, upstream: current.upstream, network: current.network,
                           egressAllow: current.egressAllow.isEmpty ? nil : current.egressAllow,
                           volumes: volumes.volumes.isEmpty ? current.volumes : volumes.parsed,
                           strategy: current.strategy, holdTimeout: current.holdTimeout)
        spec.keepProxySettings(of: current)
        spec.keepLongLivedSettings(of: current)
        spec.keepSmokeChecks(of: current)
        spec.keepBakeSettings(of: current)
        spec.replicas = current.replicas
        strategy.apply(to: &spec)
        proxy.apply(to: &spec)
        longLived.apply(to: &spec)
        try smoke.apply(to: &spec)
        try bake.apply(to: &spec)
        replicas.apply(to: &spec)
        _ = try client.updateApp(spec)
        return spec.volumes != current.volumes
    }
}
