import ArgumentParser
import BatonControl

/// `baton app rm APP [--volumes]`: stops routing the app's hosts and forgets it.
struct AppRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove an app and its routes.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "App name.")
    var app: String

    @Flag(help: "Remove the app's own volumes and their files too (shared volumes stay).")
    var volumes = false

    func run() throws {
        let client = try global.controlClient
        try client.removeApp(named: app, volumes: volumes)
        if !volumes, let kept = try? client.volumes().filter({ $0.app == app }), !kept.isEmpty {
            Output.progress("kept the volumes of \(app) (\(kept.map(\.name).joined(separator: ", "))): 'baton volume rm \(app) NAME' removes one")
        }
        Output.result(app)
    }
}
