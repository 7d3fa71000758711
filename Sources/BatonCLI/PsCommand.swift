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
        let client = try global.controlClient
        let sandboxes = try client.sandboxes(all: all)
        if json {
            try Output.json(sandboxes)
            return
        }
        defer {
            // What no record accounts for (`baton doctor`): a daemon too old to say, nothing.
            if all, let leftovers = try? client.doctor(fix: false), !leftovers.isEmpty {
                Output.result("")
                Output.result("not accounted for by any record ('baton doctor --fix' removes them):")
                for line in leftovers.lines { Output.result("  " + line) }
            }
        }
        Output.table(["ID", "APP", "ARTIFACT", "DIGEST", "STATE", "HEALTH", "PID", "UPTIME", "MEMORY"], sandboxes.map { box in
            [box.id, box.app, box.artifact ?? "-", shortDigest(box.digest),
             box.state + (box.serving ? " (serving)" : "") + Self.ending(box), box.health.map { $0.hasPrefix("unhealthy") ? "unhealthy" : $0 } ?? "-",
             box.pid.map(String.init) ?? "-",
             box.uptimeSeconds.map { "\(Int($0)) s" } ?? "-", box.memoryBytes.map(Self.memory) ?? "-"]
        })
    }

    /// MiB, or KiB below one MiB (a small program is not `0 MiB`).
    static func memory(_ bytes: Int64) -> String {
        bytes < 1 << 20 ? "\(bytes >> 10) KiB" : "\(bytes >> 20) MiB"
    }

    /// How an exited sandbox ended: ` (signal 9)`, ` (status 1)`.
    private static func ending(_ box: SandboxInfo) -> String {
        if let signal = box.exitSignal { return " (signal \(signal))" }
        return box.exitStatus.map { " (status \($0))" } ?? ""
    }
}
