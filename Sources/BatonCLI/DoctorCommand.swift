import ArgumentParser
import BatonControl
import BatonOS

/// `baton doctor [--fix] [--json]`: sandbox directories, cgroups, processes and mounts Baton
/// made for this root that no record accounts for any more; `--fix` removes them.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Find (and with --fix remove) sandboxes, cgroups and mounts no record accounts for.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Remove them: kill their processes, unmount, remove the cgroups and directories.")
    var fix = false

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        let report = try global.controlClient.doctor(fix: fix)
        if json {
            try Output.json(report)
        } else if report.isEmpty && report.failures.isEmpty {
            Output.result(fix ? "nothing left to remove under \(report.root)" : "nothing unaccounted for under \(report.root)")
        } else if !fix {
            for line in report.lines { Output.result(line) }
            Output.progress("'baton doctor --fix' removes them")
        } else {
            for line in report.lines { Output.result("removed " + line) }
            if report.failures.isEmpty { Output.result("removed everything no record accounted for under \(report.root)") }
        }
        if !report.failures.isEmpty {
            throw BatonError(.internal, "doctor --fix left something behind: " + report.failures.joined(separator: "; "))
        }
    }
}
