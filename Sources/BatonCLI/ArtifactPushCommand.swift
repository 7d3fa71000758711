import ArgumentParser

/// `baton artifact push REF DEST`: copy an artifact to an OCI registry (RegistryExec).
struct ArtifactPushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Copy an artifact to an OCI registry, sending only the blobs it lacks; prints the manifest digest.",
        discussion: "DEST is REGISTRY/REPO[:TAG] (without a tag the manifest is stored by digest only). Credentials come from 'baton login' or ~/.docker/config.json.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The artifact: NAME:VERSION, NAME@sha256:<hex> or sha256:<hex>.", valueName: "ref"))
    var reference: String

    @Argument(help: ArgumentHelp("Where to: REGISTRY/REPO[:TAG], e.g. registry.example.com/team/app:1.0.", valueName: "dest"))
    var destination: String

    @Flag(help: "Speak plain HTTP to the registry (required for an HTTP registry, localhost included).")
    var insecure = false

    func run() throws {
        try RegistryExec.push(root: global.rootPath, artifact: reference, destination: destination, insecure: insecure)
    }
}
