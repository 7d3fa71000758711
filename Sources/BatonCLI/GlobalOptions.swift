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

    /// The remote daemon `baton --host ssh://…` (or `$BATON_HOST`) names, if any. `--root` and
    /// `--socket` given explicitly then name the remote's; `$BATON_ROOT` stays this host's.
    var remote: RemoteHost? {
        get throws {
            guard let text = RemoteOption.value else { return nil }
            var remote = try RemoteHost(parsing: text)
            remote.remoteRoot = root
            remote.remoteSocket = socket
            return remote
        }
    }

    /// The client for the daemon of this root, or of the remote host.
    var controlClient: ControlClient {
        get throws {
            if let remote = try remote { return ControlClient(remote: remote) }
            return ControlClient(socketPath: socketPath, connectWait: ControlClient.startWait)
        }
    }

    /// Refuses `--host` for a command that works on this host's own files (the store, the
    /// network), naming what to do instead. `BATON_HOST` alone does not: a CI job that exports
    /// it still publishes here before it pushes.
    func refuseRemote(_ command: String, instead: String) throws {
        guard RemoteOption.explicit != nil, let remote = try remote else { return }
        throw BatonError(.invalidArgument, "'baton \(command)' works on this host only, not on \(remote): \(instead)")
    }
}

/// `baton --host ssh://…` before the command, or `$BATON_HOST`. It is read before
/// ArgumentParser sees the command line, since `app create --host` names an app's host name.
enum RemoteOption {
    nonisolated(unsafe) static var explicit: String?

    static var value: String? {
        if let explicit { return explicit.isEmpty ? nil : explicit }
        guard let environment = getenv("BATON_HOST").map({ String(cString: $0) }), !environment.isEmpty else { return nil }
        return environment
    }

    /// Takes a leading `--host VALUE`, `--host=VALUE` or `-H VALUE` off `arguments`.
    static func take(from arguments: inout [String]) throws {
        guard let first = arguments.first else { return }
        if first == "--host" || first == "-H" {
            guard arguments.count >= 2 else { throw BatonError(.invalidArgument, "--host needs a value: baton --host ssh://[USER@]HOST[:PORT] COMMAND…") }
            explicit = arguments[1]
            arguments.removeFirst(2)
        } else if first.hasPrefix("--host=") {
            explicit = String(first.dropFirst("--host=".count))
            arguments.removeFirst()
        }
    }
}
