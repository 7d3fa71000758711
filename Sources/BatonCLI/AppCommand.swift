import ArgumentParser
import BatonControl

/// `baton app`: apps the daemon routes to.
struct AppCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "app",
        abstract: "Create, configure, list, inspect and remove apps (needs a running daemon).",
        subcommands: [AppCreateCommand.self, AppSetCommand.self, AppListCommand.self, AppInspectCommand.self, AppRemoveCommand.self])
}
