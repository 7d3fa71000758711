import ArgumentParser
import BatonCommandLine
import BatonControl
import BatonOS
import Glibc

/// `baton deploy APP REF`: the blue-green swap. Exits 0 only once traffic is on the new sandbox.
struct DeployCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Swap an app to an artifact: start, health-gate, flip, drain, destroy the old sandbox.",
        discussion: "On a failed health check the old sandbox keeps serving; the reason and the new sandbox's last log lines are printed."
    )

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print the deployment record as JSON.")
    var json = false
    @Argument(help: "The app.")
    var app: String
    @Argument(help: ArgumentHelp("The artifact: NAME:VERSION, NAME@sha256:<hex> or sha256:<hex>; or a registry image REGISTRY/REPO@sha256:<hex> (or :TAG) the daemon pulls first.", valueName: "ref"))
    var ref: String
    @Flag(help: "Pull a registry image over plain HTTP (required for an HTTP registry, localhost included).")
    var insecure = false
    @OptionGroup var bake: BakeOptions
    @Flag(help: "Measure the swap: a steady load through the proxy from before the flip until the old sandbox is stopped; any failed or non-2xx request fails the command (the swap stays).")
    var verify = false
    @Option(help: ArgumentHelp("Requests per second of --verify's load, N or N/s (1 to \(VerifyReport.maxRate); default \(VerifyReport.defaultRate)).", valueName: "n"))
    var verifyRate: VerifyRateArgument?
    @Option(help: ArgumentHelp("The path --verify requests (default: the app's health path).", valueName: "path"))
    var verifyPath: String?
    @Option(help: ArgumentHelp("Draw --verify's report as an SVG picture in this file.", valueName: "file.svg"))
    var report: String?

    func validate() throws {
        if !verify && (verifyRate != nil || verifyPath != nil || report != nil) {
            throw ValidationError("--verify-rate, --verify-path and --report apply to --verify")
        }
        if let problem = VerifyOptions(rate: verifyRate?.perSecond, path: verifyPath).problem() { throw ValidationError(problem) }
    }

    func run() throws {
        let bakeSettings = try bake.settings()
        let client = try global.controlClient
        let options = verify ? VerifyOptions(rate: verifyRate?.perSecond, path: verifyPath) : nil
        var deployed: DeploymentInfo?
        do {
            try DeploymentReport.watch(client: client, app: app, json: json, showURLs: true) {
                let record = try client.deploy(app: app, ref: ref, insecure: insecure, bake: bakeSettings, verify: options)
                deployed = record
                return record
            }
        } catch {
            // A deploy that failed or was rolled back was measured as well: its figures are
            // what explain it, so they are shown (and drawn) before the command fails.
            if let deployed { try showVerify(deployed) }
            throw error
        }
        guard let deployed else { return }
        try showVerify(deployed)
        if let verified = deployed.verify { try VerifyReportOutput.check(verified, app: app) }
    }

    /// `--verify`'s report: printed (unless `--json`, whose record carries it) and drawn to
    /// `--report`.
    private func showVerify(_ record: DeploymentInfo) throws {
        guard let verified = record.verify else { return }
        if !json { VerifyReportOutput.print(verified) }
        if let report {
            try VerifyReportOutput.writeSVG(verified, title: "baton deploy \(app) \(shortDigest(record.toDigest)): deployment \(record.id)", to: report)
        }
    }
}

/// How `deploy` and `rollback` report a deployment: phases with their times on stderr, the
/// outcome as the exit status.
enum DeploymentReport {
    /// Runs a swap, printing its phases live while it runs (unless `json`), then reports it.
    /// `showURLs`: the line saying what the app serves ends with where it answers.
    static func watch(client: ControlClient, app: String, json: Bool, acceptRolledBack: Bool = false, showURLs: Bool = false,
                      _ swap: () throws -> DeploymentInfo) throws {
        try watch(client: client, app: app, json: json, acceptRolledBack: acceptRolledBack, showURLs: showURLs, record: { $0 }, swap)
    }

    /// The same for a call whose result carries the deployment (`record` finds it); returns
    /// the result once the deployment has been reported as succeeded.
    @discardableResult
    static func watch<T>(client: ControlClient, app: String, json: Bool, acceptRolledBack: Bool = false, showURLs: Bool = false,
                         record: (T) -> DeploymentInfo, _ swap: () throws -> T) throws -> T {
        let watcher = json ? nil : PhaseWatcher(client: client, app: app)
        defer { watcher?.finish() }
        let result = try swap()
        watcher?.finish()
        let deployed = record(result)
        var served: String?
        if showURLs, !json, let hosts = (try? client.app(named: app))?.hosts, let urls = AppURLs(client: client).joined(hosts) {
            served = "\(deployed.app) now serves \(deployed.toDigest) at \(urls)"
        }
        try finish(deployed, json: json, alreadyPrinted: watcher?.printed ?? 0, served: served, acceptRolledBack: acceptRolledBack)
        return result
    }

    /// `served` replaces the line saying what the app serves now.
    /// `acceptRolledBack`: a rollback during a bake window ends that deployment `rolled_back`, and succeeds.
    static func finish(_ record: DeploymentInfo, json: Bool, alreadyPrinted: Int = 0, served: String? = nil,
                       acceptRolledBack: Bool = false) throws {
        if json {
            try Output.json(record)
        } else {
            for phase in record.phases.dropFirst(alreadyPrinted) { print(phase) }
        }
        if !json, let bake = record.bake { Output.progress(BakeOptions.describe(bake)) }
        guard record.outcome == "succeeded" || (acceptRolledBack && record.outcome == "rolled_back") else {
            if !json {
                Output.progress("error: deploy of \(record.app) \(record.outcome): \(record.reason ?? "no reason recorded")")
                if let lines = record.logLines, !lines.isEmpty {
                    Output.progress("last log lines of the new sandbox:")
                    // The app's own output: never raw to a terminal.
                    let escape = TerminalEscaping.applies(to: STDERR_FILENO)
                    for line in lines { Output.progress("  " + (escape ? TerminalEscaping.escape(line) : line)) }
                }
            }
            throw CommandExit(status: 1)
        }
        if !json, let longLived = record.longLived { Output.progress(longLived.summary) }
        if record.outcome == "rolled_back" {
            if !json { Output.result("\(record.app) serves \(record.fromDigest ?? "its earlier digest") again") }
            return
        }
        if !json { Output.result(served ?? "\(record.app) now serves \(record.toDigest)") }
    }

    /// `waiting  health: 4 checks in 6 s, last: connection refused`.
    static func printHealthWait(_ wait: HealthWaitInfo) {
        let checks = wait.attempts == 1 ? "1 check" : "\(wait.attempts) checks"
        Output.progress("waiting  health: \(checks) in \(Int(wait.seconds)) s, last: \(wait.lastResult)")
    }

    static func print(_ phase: PhaseInfo) {
        Output.progress("\(phase.phase.padded(8)) \(milliseconds(phase.seconds))" + (phase.detail.map { "  \($0)" } ?? ""))
    }

    static func milliseconds(_ seconds: Double) -> String {
        "\(Int((seconds * 1000).rounded())) ms"
    }
}
