import ArgumentParser
import BatonStore

/// `baton artifact ls`.
struct ArtifactListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List named artifacts.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print a JSON array of {name, digest, size}.")
    var json = false

    func run() throws {
        try global.refuseRemote("artifact ls", instead: "copy artifacts there with 'baton artifact push REF ssh://HOST', or run it on that host")
        let artifacts = try ArtifactStore(root: global.rootPath).list()
        if json { return try Output.json(artifacts) }
        Output.table(["NAME", "DIGEST", "SIZE"], artifacts.map { [$0.name, $0.digest, ProgressMeter.format(bytes: $0.size)] })
    }
}
