import ArgumentParser
import BatonControl

/// `--volume NAME:/path[:ro]` (repeatable), for the commands that declare an app's volumes.
struct VolumeOptions: ParsableArguments {
    @Option(name: .customLong("volume"),
            help: ArgumentHelp("A directory kept across deploys, at /path in every sandbox (repeatable; shared:NAME:/path for one several apps share).",
                               valueName: "name:/path[:ro]"))
    var volumes: [String] = []

    func validate() throws {
        if let bad = volumes.first(where: { AppVolume.parse($0) == nil }) {
            throw ValidationError("invalid --volume '\(bad)': \(AppVolume.formHint)")
        }
    }

    var parsed: [AppVolume] { volumes.compactMap(AppVolume.parse) }
}

/// `--strategy blue-green|stop-first` and `--hold-timeout S`: how deploys replace the app's
/// sandbox. Only what is given changes a spec, so `app set` can take these too.
struct StrategyOptions: ParsableArguments {
    @Option(help: ArgumentHelp("How a deploy replaces the sandbox: blue-green (start the new one first) or stop-first (hold requests, stop the old one, then start the new one).",
                               valueName: "strategy"))
    var strategy: DeployStrategy?

    @Option(help: ArgumentHelp("Seconds a stop-first deploy may hold requests (default 30).", valueName: "seconds"))
    var holdTimeout: Double?

    func apply(to spec: inout AppSpec) {
        if let strategy { spec.strategy = strategy }
        if let holdTimeout { spec.holdTimeout = holdTimeout }
    }
}

extension DeployStrategy: ExpressibleByArgument {}
