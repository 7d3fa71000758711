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
    @Option(name: .long, parsing: .upToNextOption,
            help: ArgumentHelp("Draw the --verify report of deployment ID as an SVG picture in FILE.", valueName: "id file.svg"))
    var report: [String] = []

    func validate() throws {
        if !report.isEmpty && (report.count != 2 || Int64(report[0]) == nil) {
            throw ValidationError("--report takes a deployment ID and a file: --report 12 timeline.svg")
        }
    }

    func run() throws {
        let records = try global.controlClient.history(app: app)
        if report.count == 2, let id = Int64(report[0]) {
            guard let record = records.first(where: { $0.id == id }) else {
                throw BatonError(.notFound, "no deployment \(id)\(app.map { " of \($0)" } ?? ""): see 'baton history'")
            }
            guard let verified = record.verify else {
                throw BatonError(.notFound, "deployment \(id) was not verified: deploy with --verify to measure a swap")
            }
            try VerifyReportOutput.writeSVG(verified, title: "baton deploy \(record.app) \(shortDigest(record.toDigest)): deployment \(id)", to: report[1])
            return
        }
        if json {
            try Output.json(records)
            return
        }
        Output.table(["ID", "STARTED", "APP", "FROM", "TO", "CONFIG", "TRIGGER", "OUTCOME", "PHASES"], records.map { record in
            [String(record.id), record.startedAt, record.app, short(record.fromDigest), short(record.toDigest), config(record),
             Self.trigger(record), record.outcome,
             record.phases.map { "\($0.phase) \(DeploymentReport.milliseconds($0.seconds))" }.joined(separator: ", ")]
        })
    }

    /// `deploy` (the first, or a new digest over a serving one), `redeploy` (onto an app that
    /// served nothing: its sandbox was stopped), `restart` (the daemon's, after a crash), `rollback`.
    static func trigger(_ record: DeploymentInfo) -> String {
        let trigger = record.trigger ?? "deploy"
        return trigger == "deploy" && record.triggerDetail?.hasPrefix("redeploy:") == true ? "redeploy" : trigger
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
