import ArgumentParser
import BatonNetwork

/// `baton network`: the root's sandbox network, read and removed without the daemon.
struct NetworkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network",
        abstract: "Show or remove this root's sandbox network (bridge, subnet, firewall).",
        subcommands: [NetworkInspectCommand.self, NetworkRemoveCommand.self])
}

/// `baton network inspect`.
struct NetworkInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show the bridge, its subnet, the host's address there (host.baton.internal) and the sandboxes on it.")

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print one JSON object (null when the root has no sandbox network).")
    var json = false

    func run() throws {
        try global.refuseRemote("network inspect", instead: "run it on that host (ssh HOST baton …)")
        let status = try RootNetwork.status(root: global.rootPath)
        if json { return try Output.json(status) }
        guard let status else {
            Output.result("no sandbox network yet: the daemon makes it at start, or the first baton run --network egress")
            return
        }
        Output.result("bridge          \(status.bridge)\(status.up ? "" : " (not up)")")
        Output.result("subnet          \(status.subnet)")
        Output.result("gateway         \(status.gateway) (host.baton.internal in sandboxes)")
        Output.result("firewall        \(status.firewallTable)")
        guard !status.sandboxes.isEmpty else { return Output.result("sandboxes       none") }
        Output.result("")
        Output.table(["SANDBOX", "ADDRESS", "EGRESS"], status.sandboxes.map { member in
            [member.sandbox, member.address, member.egressAllow.isEmpty ? "anywhere but 169.254.0.0/16" : member.egressAllow.joined(separator: " ")]
        })
    }
}

/// `baton network rm`.
struct NetworkRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Remove this root's bridge, firewall table and subnet (the daemon stopped, no sandbox on it).")

    @OptionGroup var global: GlobalOptions

    func run() throws {
        try global.refuseRemote("network rm", instead: "run it on that host (ssh HOST baton …)")
        guard let removed = try RootNetwork.remove(root: global.rootPath) else {
            return Output.result("no sandbox network to remove")
        }
        Output.result("removed \(removed.bridge) (\(removed.subnet)) and its firewall table")
    }
}
