import ArgumentParser
import BatonControl

/// `baton preview`: throwaway apps at NAME.<preview domain>, one command each.
struct PreviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preview",
        abstract: "Create, list and remove previews: apps at NAME.<preview domain> (needs a running daemon).",
        subcommands: [PreviewCreateCommand.self, PreviewListCommand.self, PreviewRemoveCommand.self])
}

/// `baton preview create NAME REF [--ttl SECONDS] [--smoke CHECK]… [--smoke-file FILE]`: deploys REF at NAME.<preview domain>
/// through the health gate; on an existing preview, swaps it and restarts its expiry.
struct PreviewCreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Serve an artifact at NAME.<preview domain>, or swap an existing preview to it.",
        discussion: """
            The artifact's port and health path are used. Exits 0 only once the preview serves; \
            on a failed health check a new preview is removed again and an existing one keeps serving. \
            --smoke checks run against the preview's host before it serves (an existing preview \
            keeps its checks unless new ones or --no-smoke are given).
            """)

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print the deployment record as JSON.")
    var json = false
    @Option(help: ArgumentHelp("Remove the preview this many seconds after this command (default: never).", valueName: "seconds"))
    var ttl: Double?
    @OptionGroup var smoke: AppSmokeOptions
        @Argument(help: "The preview's name (also the first label of its host).")
    var name: String
    @Argument(help: ArgumentHelp("The artifact: NAME:VERSION, NAME@sha256:<hex> or sha256:<hex>.", valueName: "ref"))
    var ref: String

    func validate() throws {
        if let ttl, !(ttl > 0) { throw ValidationError("invalid --ttl \(ttl): use a positive number of seconds") }
    }

    func run() throws {
        let checks = try smoke.parsed()
        let client = try global.controlClient
        let creation = try DeploymentReport.watch(client: client, app: name, json: json, record: \.deployment) {
            try client.createPreview(name: name, ref: ref, ttl: ttl, smoke: checks)
        }
        if !json { Output.result(AppURLs(client: client).urls([creation.host]).joined(separator: "\n")) }
    }
}

/// `baton preview rm NAME`: stops its sandboxes and removes it.
struct PreviewRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Stop a preview's sandboxes and remove it.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The preview's name.")
    var name: String

    func run() throws {
        try global.controlClient.removePreview(named: name)
        Output.result(name)
    }
}
