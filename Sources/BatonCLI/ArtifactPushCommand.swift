import ArgumentParser
import BatonControl
import BatonOS

/// `baton artifact push REF DESTINATION`: copies an artifact from this host's store elsewhere.
/// `ssh://…` destinations go to another Baton host's store (`RemoteArtifactPush`).
struct ArtifactPushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Copy an artifact to another Baton host's store (ssh://[USER@]HOST[:PORT]), sending only the blobs it lacks.",
        discussion: "Without a destination, the host of --host or BATON_HOST. Prints the manifest digest."
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: ArgumentHelp("The artifact: NAME:VERSION or NAME@sha256:<hex>.", valueName: "ref"))
    var ref: String
    @Argument(help: ArgumentHelp("Where to: ssh://[USER@]HOST[:PORT].", valueName: "destination"))
    var destination: String?
    @Option(name: .customLong("remote-root"), help: ArgumentHelp("The remote host's Baton root (default: its own default).", valueName: "dir"))
    var remoteRoot: String?
    @Option(name: .customLong("remote-socket"), help: ArgumentHelp("The remote daemon's control socket, when not <root>/baton.sock.", valueName: "path"))
    var remoteSocket: String?

    func run() throws {
        guard let target = destination ?? RemoteOption.value else {
            throw BatonError(.invalidArgument, "give a destination: baton artifact push REF ssh://[USER@]HOST[:PORT]")
        }
        guard target.hasPrefix("ssh://") else {
            throw BatonError(.invalidArgument, "'\(target)': this Baton pushes to ssh://[USER@]HOST[:PORT] only")
        }
        var remote = try RemoteHost(parsing: target)
        remote.remoteRoot = remoteRoot
        remote.remoteSocket = remoteSocket
        try RemoteArtifactPush(root: global.rootPath, remote: remote).push(ref)
    }
}
