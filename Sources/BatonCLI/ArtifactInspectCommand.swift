import ArgumentParser
import BatonStore

/// `baton artifact inspect REF`.
struct ArtifactInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show an artifact's digest, size, layers, base, config and whether it is reproducible."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("NAME:VERSION, NAME@sha256:<hex> or sha256:<hex>.", valueName: "ref"))
    var reference: String

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        try global.refuseRemote("artifact inspect", instead: "copy artifacts there with 'baton artifact push REF ssh://HOST', or run it on that host")
        let details = try ArtifactStore(root: global.rootPath).inspect(reference)
        if json { return try Output.json(details) }
        let config = details.config
        var lines = [
            "name:          \(details.name ?? "-")",
            "digest:        \(details.digest)",
            "size:          \(details.size) bytes",
            "base:          \(details.base ?? "-")",
            "reproducible:  \(details.reproducible ? "yes" : "no (depends on the publishing host)")",
        ]
        if !details.hostBinds.isEmpty { lines.append("host binds:    \(details.hostBinds.joined(separator: " ")) (read-only)") }
        lines.append("cmd:           \((config.entrypoint ?? []) + (config.cmd ?? []))")
        lines.append("workdir:       \(config.workingDir ?? "/")")
        lines.append("env:           \(config.env)")
        lines.append("ports:         \(config.exposedPorts.map(String.init).joined(separator: " "))")
        lines.append("health path:   \(config.healthPath ?? "-")")
        lines.append("layers:")
        for layer in details.layers { lines.append("  \(layer.digest)  \(layer.size)  \(layer.mediaType)") }
        lines.forEach(Output.result)
    }
}
