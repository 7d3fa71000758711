import ArgumentParser
import BatonControl

/// `baton app rm APP`: stops routing the app's hosts and forgets it.
struct AppRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove an app and its routes.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "App name.")
    var app: String

    func run() throws {
        try global.controlClient.removeApp(named: app)
        Output.result(app)
    }
}
