import ArgumentParser
import BatonCommandLine
import BatonControl
import BatonOS
import Glibc

/// `baton daemon upgrade [--binary PATH]`: the running daemon starts its successor, hands it
/// the listening sockets and the root lock, and exits once its in-flight requests are done;
/// no client sees a refused or reset connection. If the successor fails, the old daemon serves
/// on and this says why.
struct DaemonUpgradeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baton daemon upgrade",
        abstract: "Restart the daemon, or upgrade it to a new binary, without dropping a request.",
        discussion: "SIGHUP to the daemon (systemctl reload) does the same with the installed binary.")

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("The new baton-daemon executable, or the baton beside it (default: the daemon's own, read from disk again).", valueName: "path"))
    var binary: String?

    @Option(help: ArgumentHelp("Seconds the new daemon has to get ready and take over (a deploy in progress finishes first).", valueName: "seconds"))
    var timeout: Double = 60

    func validate() throws {
        guard (1...3600).contains(timeout) else {
            throw ValidationError("invalid --timeout \(timeout): use 1 to 3600 seconds")
        }
        if let binary, binary.isEmpty { throw ValidationError("invalid --binary '': name an executable") }
    }

    func run() throws {
        // The daemon resolves nothing relative to this shell's directory.
        let request = DaemonUpgradeRequest(binary: binary.map(PathName.absolute), timeoutSeconds: timeout)
        let result = try global.controlClient.upgradeDaemon(request)
        print("baton daemon: handed over from pid \(result.fromPid) (\(result.fromVersion)) to pid \(result.toPid) (\(result.toVersion)) in \(result.milliseconds) ms")
    }
}
