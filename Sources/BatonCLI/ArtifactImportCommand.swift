import ArgumentParser
import BatonStore

/// `baton artifact import FILE [--name NAME:VERSION]`.
struct ArtifactImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import an OCI archive (skopeo's oci-archive:, docker save); prints its manifest digest."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The OCI archive (a tar of an OCI image layout; layers gzip or uncompressed).", valueName: "file"))
    var file: String

    @Option(help: ArgumentHelp("The name to bind (default: the archive's own NAME:VERSION).", valueName: "name:version"))
    var name: String?

    func run() throws {
        try global.refuseRemote("artifact import", instead: "copy artifacts there with 'baton artifact push REF ssh://HOST', or run it on that host")
        let store = try ArtifactStore(root: global.rootPath)
        let result = try store.importArchive(file, name: name)
        Output.progress("imported \(result.name) (\(ProgressMeter.format(bytes: result.bytesAdded)) added)")
        Output.result(result.digest)
    }
}
