import ArgumentParser
import BatonControl

/// `--drain-long-timeout S`: how long the old sandbox's WebSocket and server-sent-event
/// connections may run on after a swap before Baton ends them. An app setting like the
/// strategy: `app set` keeps it when not given.
struct AppDrainOptions: ParsableArguments {
    @Option(help: ArgumentHelp("How long WebSocket and server-sent-event connections stay on the old sandbox after a swap before Baton ends them (default: the drain timeout).",
                               valueName: "seconds"))
    var drainLongTimeout: Double?

    var given: Bool { drainLongTimeout != nil }

    func apply(to spec: inout AppSpec) {
        if let drainLongTimeout { spec.drainLongTimeout = drainLongTimeout }
    }
}
