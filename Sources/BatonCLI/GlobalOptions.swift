import ArgumentParser
import FoundationEssentials
import Glibc

/// Options every command takes.
public struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Baton's state directory (store, layers, sandboxes, state database, socket).", valueName: "dir"))
    var root: String?

    public init() {}

    /// `--root`, else `$BATON_ROOT`, else /var/lib/baton; always absolute.
    var rootPath: String { Self.resolveRoot(root) }

    static func resolveRoot(_ explicit: String?) -> String {
        let chosen = explicit ?? getenv("BATON_ROOT").map { String(cString: $0) } ?? "/var/lib/baton"
        if chosen.hasPrefix("/") { return chosen }
        return FileManager.default.currentDirectoryPath + "/" + chosen
    }
}
