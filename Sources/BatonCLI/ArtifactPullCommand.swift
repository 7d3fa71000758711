import ArgumentParser
import BatonControl
import BatonStore

/// `baton artifact pull REGISTRY/REPO(:TAG|@sha256:…)`: fetch an image into the local store.
struct ArtifactPullCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Fetch an image from an OCI registry into the store, verifying every blob; prints its digest.",
        discussion: "Binds --as NAME:VERSION, else REPO:TAG (REPO:sha256-<12 hex> for a pull by digest). An image index is narrowed to linux/amd64 or --platform. With --host, the daemon there pulls into its own store, with its host's credentials.")

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
        if RemoteOption.explicit != nil, let remote = try global.remote {
            let pulled = try ControlClient(remote: remote).pull(PullRequest(image: image, localName: localName, platform: platform, insecure: insecure))
            Output.progress("pulled \(pulled.source) as \(pulled.name) on \(remote) (\(pulled.blobsDownloaded) blobs, \(pulled.bytesDownloaded) bytes downloaded; \(pulled.blobsPresent) already in its store)")
            Output.result(pulled.digest)
            return
        }
        RegistryExec.run("pull", root: global.rootPath, arguments)
    }
}
