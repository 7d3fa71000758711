import ArgumentParser
import BatonOS

/// Options every command takes.
public struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Baton's state directory (store, layers, sandboxes, state database, socket).", valueName: "dir"))
    var root: String?

    public init() {}

    /// `--root`, else `$BATON_ROOT`, else /var/lib/baton; always absolute.
    var rootPath: String { StateRoot.resolve(root) }
}
