import ArgumentParser
import BatonControl
import FoundationEssentials

/// `baton daemon status [--json]`: which process serves the root, since when, where it listens
/// and how much it runs. No daemon: the usual one `error:` line naming the socket.
struct DaemonStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baton daemon status",
        abstract: "Show the running daemon: pid, version, uptime, listen addresses, apps, sandboxes, root.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        let info = try global.controlClient.daemonInfo()
        if json {
            try Output.json(info)
            return
        }
        let rows: [(String, String?)] = [
            ("pid", String(info.pid) + (info.handingOff ? " (handing off)" : "")),
            ("version", info.version),
            ("uptime", info.uptimeSeconds.map(Self.duration)),
            ("root", info.root),
            ("proxy", info.listen.map { "http://\($0)/" }),
            ("https", info.listenTLS.map { "https://\($0)/" } ?? "off"),
            ("metrics", info.metrics.map { "http://\($0)/metrics" } ?? "off (control socket only)"),
            ("control", info.socket),
            ("apps", info.apps.map(String.init)),
            ("sandboxes", info.sandboxes.map { "\($0) running" }),
        ]
        for (name, value) in rows { Output.result(name.padded(10) + (value ?? "-")) }
    }

    /// `3 d 4 h`, `2 h 5 m`, `4 m 10 s`, `12 s`: the two largest units.
    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds)
        let parts = [(total / 86400, "d"), (total / 3600 % 24, "h"), (total / 60 % 60, "m"), (total % 60, "s")]
        guard let first = parts.firstIndex(where: { $0.0 > 0 }) else { return "0 s" }
        return parts[first...].prefix(2).map { "\($0.0) \($0.1)" }.joined(separator: " ")
    }
}
