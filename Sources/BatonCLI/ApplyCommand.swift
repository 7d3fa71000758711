import ArgumentParser
import BatonCommandLine
import BatonApply
import BatonControl
import BatonOS
import BatonStore
import FoundationEssentials

/// `baton apply -f FILE.yml`: converge the daemon's apps to a file, by the same health-gated
/// swaps as `deploy`. The whole file is checked and every artifact resolved before the first
/// change, so a wrong file changes nothing.
struct ApplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Declare apps and their artifacts in a YAML file; converge by swaps.",
        discussion: """
            Creates missing apps, swaps apps whose artifact changed, updates changed settings and \
            leaves unchanged apps alone. Apps absent from the file are removed only with --prune. \
            If one step fails the others still run; the exit status is then 1.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(name: [.short, .customLong("file")], help: ArgumentHelp("The apps file (YAML).", valueName: "file.yml"))
    var file: String
    @Flag(help: "Remove apps the file does not declare.")
    var prune = false
    @Flag(help: "Print the plan and change nothing.")
    var dryRun = false
    @Flag(help: "Print the plan or the results as one JSON array.")
    var json = false

    func run() throws {
        let client = try global.controlClient
        let declared = try ApplySecrets.read(try client.parseApplyFile(file: file, text: try Self.read(file)))
        // On a remote host (--host) the daemon's own store resolves the artifacts.
        let remote = try global.remote != nil
        let store = !remote && declared.apps.contains { $0.artifact != nil } ? try ArtifactStore(root: global.rootPath) : nil
        // Previews come and go per branch (`baton preview`): a file neither declares nor prunes them.
        let current = try client.listApps().filter { !$0.preview }
        let resolved = try ApplySecrets.compare(try ApplyResolver.resolve(declared) { ref in
            remote ? try client.resolveArtifact(ref) : try store!.resolve(ref).digest
        }, with: current, client: client)
        let plan = try ApplyPlan.make(desired: resolved, current: current, prune: prune)
        if dryRun {
            try report(plan.steps, outcomes: false)
            return
        }
        let results = ApplyExecutor(control: client).run(plan) { step in
            Output.progress("\(step.action.rawValue) \(step.app)" + (step.detail.isEmpty ? "" : ": \(step.detail)"))
        }
        try report(results, outcomes: true)
        let failed = results.filter { $0.outcome == "failed" }
        guard failed.isEmpty else {
            if !json {
                for step in failed { Output.progress("error: \(step.action.rawValue) of \(step.app) failed: \(step.reason ?? "no reason")") }
            }
            throw CommandExit(status: 1)
        }
    }

    /// The file's text; the daemon parses it (see `ApplyFile`).
    static func read(_ path: String) throws(BatonError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BatonError(.notFound, "cannot read \(path): give an existing YAML file with -f")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw BatonError(.invalidArgument, "\(path): not UTF-8 text")
        }
        return text
    }

    private func report(_ steps: [ApplyStep], outcomes: Bool) throws {
        if json {
            try Output.json(steps)
            return
        }
        let header = ["ACTION", "APP", "DETAIL"] + (outcomes ? ["OUTCOME"] : [])
        Output.table(header, steps.map { step in
            [step.action.rawValue, step.app, step.detail.isEmpty ? "-" : step.detail] + (outcomes ? [step.outcome ?? "-"] : [])
        })
    }
}
