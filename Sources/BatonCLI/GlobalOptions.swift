import ArgumentParser
import BatonControl
import BatonOS
import Glibc

/// Options every command takes.
public struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Baton's state directory (store, layers, sandboxes, state database, socket).", valueName: "dir"))
    var root: String?

    @Option(name: .long, help: ArgumentHelp("The daemon's control socket, when it is not <root>/baton.sock (baton daemon --socket).", valueName: "path"))
    var socket: String?

    public init() {}

    /// `--root`, else `$BATON_ROOT`, else /var/lib/baton; always absolute.
    var rootPath: String { StateRoot.resolve(root) }

    /// `--socket`, else `$BATON_SOCKET`, else `<root>/baton.sock`.
    var socketPath: String {
        PathName.absolute(socket ?? getenv("BATON_SOCKET").map { String(cString: $0) } ?? ControlClient.socketPath(root: rootPath))
    }
}
