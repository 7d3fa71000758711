import BatonOS
import ArgumentParser
import BatonControl

/// `baton ps`: the daemon's sandboxes.
struct PsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List sandboxes.")

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print one JSON array.")
    var json = false
    @Flag(help: "Include stopped sandboxes.")
    var all = false

    func run() throws {
        let sandboxes = try global.controlClient.sandboxes(all: all)
        if json {
            try Output.json(sandboxes)
            return
        }
        Output.table(["ID", "APP", "ARTIFACT", "DIGEST", "STATE", "HEALTH", "PID", "UPTIME", "MEMORY"], sandboxes.map { box in
            [box.id, box.app, box.artifact ?? "-", shortDigest(box.digest),
             box.state + (box.serving ? " (serving)" : ""), box.health.map { $0.hasPrefix("unhealthy") ? "unhealthy" : $0 } ?? "-",
             box.pid.map(String.init) ?? "-",
             box.uptimeSeconds.map { "\(Int($0)) s" } ?? "-", box.memoryBytes.map { "\($0 >> 20) MiB" } ?? "-"]
        })
    }
}
