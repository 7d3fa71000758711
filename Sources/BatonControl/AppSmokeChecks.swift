import BatonOS

/// An app's smoke checks (`--smoke`, `--smoke-file`, the apply key `smoke`): stored as the
/// grammar writes them (`SmokeCheck.description`), so what `app inspect` shows is what runs.
extension AppValidation {
    /// Parses the spec's checks (each must parse, at most `SmokeCheck.Limits.maxChecks`) and
    /// stores them written the standard way; upstream apps have no green to check.
    static func validateSmoke(_ spec: inout AppSpec) throws(BatonError) {
        guard let lines = spec.smoke else { return }
        if spec.upstream != nil && !lines.isEmpty {
            throw BatonError(.invalidArgument, "--upstream apps run outside Baton and are never swapped: smoke checks apply only to sandbox apps")
        }
        if spec.upstreamProtocol == .h2c && !lines.isEmpty {
            throw BatonError(.invalidArgument, "smoke checks speak HTTP/1.1 and --upstream-protocol h2c apps do not: drop --smoke or the h2c protocol")
        }
        spec.smoke = try SmokeCheck.parseAll(lines).map(\.description)
    }
}

extension AppSpec {
    /// Takes the smoke checks `app` has now, for a spec that replaces its settings whole.
    public mutating func keepSmokeChecks(of app: AppInfo) {
        smoke = app.smoke
    }
}
