import ArgumentParser
import BatonControl

/// `--replicas N` on `app create` and `app set`: how many sandboxes serve the app at once.
/// Only what is given changes a spec; `app set` keeps the app's count otherwise.
struct AppReplicaOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Sandboxes serving the app at once, 1-16 (default 1): each health-gated, routed round-robin; from the next deploy.",
                               valueName: "n"))
    var replicas: Int?

    var given: Bool { replicas != nil }

    func validate() throws {
        if let replicas, !AppSpec.replicaRange.contains(replicas) {
            throw ValidationError("invalid --replicas \(replicas): use \(AppSpec.replicaRange.lowerBound)-\(AppSpec.replicaRange.upperBound)")
        }
    }

    func apply(to spec: inout AppSpec) {
        if let replicas { spec.replicas = replicas }
    }
}
