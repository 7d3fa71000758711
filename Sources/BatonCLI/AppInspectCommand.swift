import ArgumentParser
import BatonControl

/// `baton app inspect APP`: every setting of one app, as JSON.
struct AppInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show one app as JSON.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "App name.")
    var app: String

    @Flag(help: "Print JSON (the default; accepted for symmetry with listings).")
    var json = false

    func run() throws {
        try Output.json(try global.controlClient.app(named: app))
    }
}
