import ArgumentParser
import BatonControl

/// `baton volume`: the apps' volumes on disk.
struct VolumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "volume",
        abstract: "List and remove app volumes (needs a running daemon).",
        subcommands: [VolumeListCommand.self, VolumeRemoveCommand.self])
}

/// `baton volume ls [--json]`: app, name, path, size and whether a running sandbox binds it.
struct VolumeListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List volumes.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print one JSON array.")
    var json = false

    func run() throws {
        let volumes = try global.controlClient.volumes()
        if json {
            try Output.json(volumes)
            return
        }
        Output.table(
            ["APP", "NAME", "SIZE", "IN USE", "PATH"],
            volumes.map { [$0.app, $0.name, String($0.size), $0.inUse ? "yes" : "no", $0.path] })
    }
}

/// `baton volume rm APP NAME`: removes a volume and its files, unless a running sandbox binds it.
struct VolumeRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a volume and its files.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The app the volume belongs to, or 'shared'.")
    var app: String

    @Argument(help: "Volume name.")
    var name: String

    func run() throws {
        try global.controlClient.removeVolume(app: app, name: name)
        Output.result("\(app) \(name)")
    }
}
