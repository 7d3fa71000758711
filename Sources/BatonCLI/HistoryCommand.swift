import BatonOS
import ArgumentParser
import BatonControl

/// `baton history [APP]`: which bytes served when.
struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "List deployments: when, app, from digest, to digest, outcome, phase times."
    )

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print one JSON array.")
    var json = false
    @Argument(help: "Only this app's deployments.")
    var app: String?

    func run() throws {
        let records = try global.controlClient.history(app: app)
        if json {
            try Output.json(records)
            return
        }
        Output.table(["ID", "STARTED", "APP", "FROM", "TO", "CONFIG", "TRIGGER", "OUTCOME", "PHASES"], records.map { record in
            [String(record.id), record.startedAt, record.app, short(record.fromDigest), short(record.toDigest), config(record),
             record.trigger ?? "deploy", record.outcome,
             record.phases.map { "\($0.phase) \(DeploymentReport.milliseconds($0.seconds))" }.joined(separator: ", ")]
        })
    }

    private func short(_ digest: String?) -> String {
        digest.map(shortDigest) ?? "-"
    }

    /// The configuration version brought in, after the one replaced when it differs: `2`, `1->2`.
    private func config(_ record: DeploymentInfo) -> String {
        guard let to = record.configVersion else { return "-" }
        guard let from = record.fromConfigVersion, from != to else { return String(to) }
        return "\(from)->\(to)"
    }
}
