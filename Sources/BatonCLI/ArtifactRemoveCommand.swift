import ArgumentParser
import BatonStore

/// `baton artifact rm REF`: removes the name; the bytes stay until `gc`.
struct ArtifactRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Remove an artifact's name (its bytes go at the next gc; the name stays bound to its digest)."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("NAME:VERSION, NAME@sha256:<hex>, or sha256:<hex> for every name bound to it.", valueName: "ref"))
    var reference: String

    @Flag(help: "Print a JSON array of the names removed.")
    var json = false

    func run() throws {
        try global.refuseRemote("artifact rm", instead: "copy artifacts there with 'baton artifact push REF ssh://HOST', or run it on that host")
        let removed = try ArtifactStore(root: global.rootPath).remove(reference)
        if json { return try Output.json(removed) }
        removed.forEach { Output.result("removed \($0)") }
    }
}
