import ArgumentParser
import BatonControl
import BatonOS

/// `--smoke CHECK` (repeatable), `--smoke-file FILE` and `--no-smoke`: the checks green must
/// pass before the flip (docs/deploys.md, "Smoke checks"). Given checks replace the app's
/// whole list; none given keeps it (`app set`); `--no-smoke` empties it.
struct AppSmokeOptions: ParsableArguments {
    @Option(name: .customLong("smoke"),
            help: ArgumentHelp("A check green must pass before the flip, e.g. 'GET /api/items 200 contains \"items\"' (repeatable).",
                               valueName: "check"))
    var checks: [String] = []

    @Option(help: ArgumentHelp("Read checks from a file: one per line, # comments (repeatable).", valueName: "file"))
    var smokeFile: [String] = []

    @Flag(help: "Remove the app's smoke checks.")
    var noSmoke = false

    var given: Bool { !checks.isEmpty || !smokeFile.isEmpty || noSmoke }

    func validate() throws {
        if noSmoke && (!checks.isEmpty || !smokeFile.isEmpty) {
            throw ValidationError("--no-smoke removes every check: do not give --smoke or --smoke-file with it")
        }
    }

    /// The checks given (files read), each parsed so a bad one is refused here, naming it;
    /// nil when none was given.
    func parsed() throws(BatonError) -> [String]? {
        guard given else { return nil }
        var lines = checks
        for path in smokeFile {
            lines += SmokeCheck.fileLines(try Self.read(path))
        }
        return try SmokeCheck.parseAll(lines).map(\.description)
    }

    func apply(to spec: inout AppSpec) throws(BatonError) {
        if let checks = try parsed() { spec.smoke = checks }
    }

    /// A smoke file: a regular UTF-8 file of at most 256 KiB.
    static func read(_ path: String) throws(BatonError) -> String {
        try OperatorFile.text(path, what: "smoke file", limit: 256 * 1024, tooLarge: "256 KiB")
    }
}
