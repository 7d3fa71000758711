import ArgumentParser
import BatonStore

/// `baton artifact pull REGISTRY/REPO(:TAG|@sha256:…)`: fetch an image into the local store.
struct ArtifactPullCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Fetch an image from an OCI registry into the store, verifying every blob; prints its digest.",
        discussion: "Binds --as NAME:VERSION, else REPO:TAG (REPO:sha256-<12 hex> for a pull by digest). An image index is narrowed to linux/amd64 or --platform.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The image: REGISTRY/REPO:TAG or REGISTRY/REPO@sha256:<hex>.", valueName: "image"))
    var image: String

    @Option(name: .customLong("as"), help: ArgumentHelp("The local name to bind, forever.", valueName: "name:version"))
    var localName: String?

    @Option(help: ArgumentHelp("The platform to pick from an image index (default: linux/amd64 on this host).", valueName: "os/arch"))
    var platform: String?

    @Flag(help: "Speak plain HTTP to the registry (required for an HTTP registry, localhost included).")
    var insecure = false

    func run() throws {
        _ = try RegistryReference(parsing: image)
        if let localName { _ = try Reference.parseTag(localName) }
        var arguments = [image]
        if let localName { arguments += ["--as", localName] }
        if let platform { arguments += ["--platform", platform] }
        if insecure { arguments.append("--insecure") }
        RegistryExec.run("pull", root: global.rootPath, arguments)
    }
}
