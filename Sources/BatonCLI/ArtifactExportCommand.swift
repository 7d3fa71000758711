import ArgumentParser
import BatonStore

/// `baton artifact export REF -o FILE`.
struct ArtifactExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write an artifact as an OCI archive any OCI tool can read."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("NAME:VERSION, NAME@sha256:<hex> or sha256:<hex>.", valueName: "ref"))
    var reference: String

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("The archive to write (replaced atomically).", valueName: "file"))
    var output: String

    func run() throws {
        try global.refuseRemote("artifact export", instead: "copy artifacts there with 'baton artifact push REF ssh://HOST', or run it on that host")
        let store = try ArtifactStore(root: global.rootPath)
        let artifact = try store.resolve(reference)
        try store.exportArchive(reference, to: output)
        Output.progress("exported \(artifact.name ?? artifact.digest) to \(output)")
        Output.result(artifact.digest)
    }
}
