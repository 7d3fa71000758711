import ArgumentParser
import BatonControl

/// `--volume NAME:/path[:ro]`, `--strategy blue-green|stop-first` and `--hold-timeout S`, for
/// the commands that set an app's settings.
struct VolumeAndStrategyOptions: ParsableArguments {
    @Option(name: .customLong("volume"),
            help: ArgumentHelp("A directory kept across deploys, at /path in every sandbox (repeatable; shared:NAME:/path for one several apps share).",
                               valueName: "name:/path[:ro]"))
    var volumes: [String] = []

    @Option(help: ArgumentHelp("How a deploy replaces the sandbox: blue-green (start the new one first) or stop-first (hold requests, stop the old one, then start the new one).",
                               valueName: "strategy"))
    var strategy: DeployStrategy?

    @Option(help: ArgumentHelp("Seconds a stop-first deploy may hold requests (default 30).", valueName: "seconds"))
    var holdTimeout: Double?

    func validate() throws {
        if let bad = volumes.first(where: { AppVolume.parse($0) == nil }) {
            throw ValidationError("invalid --volume '\(bad)': \(AppVolume.formHint)")
        }
        if holdTimeout != nil && strategy != .stopFirst {
            throw ValidationError("--hold-timeout applies to --strategy stop-first")
        }
    }

    func apply(to spec: inout AppSpec) {
        spec.volumes = volumes.compactMap(AppVolume.parse)
        spec.strategy = strategy
        spec.holdTimeout = holdTimeout
    }
}

extension DeployStrategy: ExpressibleByArgument {}
