import ArgumentParser
import BatonControl

/// `baton rollback APP`: the same swap, back to the digest that served before.
struct RollbackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Swap an app back to the artifact that served before the current one."
    )

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print the deployment record as JSON.")
    var json = false
    @Option(help: ArgumentHelp("Roll back to this artifact instead.", valueName: "ref"))
    var to: String?
    @Argument(help: "The app.")
    var app: String

    func run() throws {
        let client = try global.controlClient
        // During a bake window the rollback is a flip back to blue: that deployment ends rolled_back.
        try DeploymentReport.watch(client: client, app: app, json: json, acceptRolledBack: to == nil, showURLs: true) { try client.rollback(app: app, to: to) }
    }
}
