import ArgumentParser
import BatonControl
import BatonOS

/// `baton artifact push REF DESTINATION`: copies an artifact from this host's store elsewhere:
/// to another Baton host's store (`ssh://…`, RemoteArtifactPush) or to an OCI registry
/// (`REGISTRY/REPO[:TAG]`, RegistryExec).
struct ArtifactPushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Copy an artifact to an OCI registry or another Baton host's store, sending only the blobs it lacks; prints the manifest digest.",
        discussion: """
            DESTINATION is REGISTRY/REPO[:TAG] (without a tag the manifest is stored by digest only; credentials \
            come from 'baton login' or ~/.docker/config.json), or ssh://[USER@]HOST[:PORT] for the store of the \
            Baton daemon there. Without a destination, the host of --host or BATON_HOST.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: ArgumentHelp("The artifact: NAME:VERSION, NAME@sha256:<hex> or sha256:<hex>.", valueName: "ref"))
    var ref: String
    @Argument(help: ArgumentHelp("Where to: REGISTRY/REPO[:TAG] (e.g. registry.example.com/team/app:1.0) or ssh://[USER@]HOST[:PORT].", valueName: "destination"))
    var destination: String?
    @Flag(help: "Speak plain HTTP to the registry (required for an HTTP registry, localhost included).")
    var insecure = false
    @Option(name: .customLong("remote-root"), help: ArgumentHelp("ssh:// only: the remote host's Baton root (default: its own default).", valueName: "dir"))
    var remoteRoot: String?
    @Option(name: .customLong("remote-socket"), help: ArgumentHelp("ssh:// only: the remote daemon's control socket, when not <root>/baton.sock.", valueName: "path"))
    var remoteSocket: String?

    func run() throws {
        guard let target = destination ?? RemoteOption.value else {
            throw BatonError(.invalidArgument, "give a destination: baton artifact push REF REGISTRY/REPO[:TAG] or ssh://[USER@]HOST[:PORT]")
        }
        guard target.hasPrefix("ssh://") else {
            if remoteRoot != nil || remoteSocket != nil {
                throw BatonError(.invalidArgument, "--remote-root and --remote-socket are for ssh:// destinations only")
            }
            try RegistryExec.push(root: global.rootPath, artifact: ref, destination: target, insecure: insecure)
            return
        }
        var remote = try RemoteHost(parsing: target)
        remote.remoteRoot = remoteRoot
        remote.remoteSocket = remoteSocket
        try RemoteArtifactPush(root: global.rootPath, remote: remote).push(ref)
    }
}
