import ArgumentParser
import BatonControl

/// `--bake SECONDS --bake-max-5xx PCT --bake-max-p99 Nx` on `baton deploy`: a bake window for
/// this deploy, in place of the app's (see docs/deploys.md, "Bake window and instant rollback").
struct BakeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Keep the old sandbox ready this many seconds after the flip (0-600) and roll back to it if the new one misbehaves.",
                               valueName: "seconds"))
    var bake: Double?

    @Option(name: .customLong("bake-max-5xx"), help: ArgumentHelp("Roll back when the new sandbox's 5xx share passes this (default 1%).", valueName: "percent"))
    var bakeMax5xx: String?

    @Option(name: .customLong("bake-max-p99"), help: ArgumentHelp("Roll back when the new sandbox's p99 latency passes this multiple of the old one's (default 2x).", valueName: "factor"))
    var bakeMaxP99: String?

    var given: Bool { bake != nil || bakeMax5xx != nil || bakeMaxP99 != nil }

    /// Bad values are refused before anything is asked of the daemon.
    func validate() throws {
        if given { _ = try parsed(seconds: bake ?? 0) }
    }

    /// `app create/set`: what is given replaces the spec's.
    func apply(to spec: inout AppSpec) throws {
        guard given else { return }
        let parsed = try parsed(seconds: bake ?? 0)
        if bake != nil { spec.bakeSeconds = parsed.seconds }
        if bakeMax5xx != nil { spec.bakeMaxServerErrorPercent = parsed.maxServerErrorPercent }
        if bakeMaxP99 != nil { spec.bakeMaxP99Factor = parsed.maxP99Factor }
    }

    /// `deploy`: the bake window asked for; nil when none of the flags is given.
    func settings() throws -> BakeSettings? {
        guard given else { return nil }
        guard let bake else { throw ValidationError("--bake-max-5xx and --bake-max-p99 need --bake SECONDS") }
        return try parsed(seconds: bake)
    }

    private func parsed(seconds bake: Double) throws -> BakeSettings {
        guard bake.isFinite, bake >= 0, bake <= BakeSettings.maxSeconds else {
            throw ValidationError("invalid --bake \(bake): use 0-\(Int(BakeSettings.maxSeconds)) seconds")
        }
        let percent = try bakeMax5xx.map { text in
            guard let value = Self.number(text, suffix: "%"), (0...100).contains(value) else {
                throw ValidationError("invalid --bake-max-5xx '\(text)': use a percentage 0-100, e.g. 1%")
            }
            return value
        }
        let factor = try bakeMaxP99.map { text in
            guard let value = Self.number(text, suffix: "x"), value >= 1, value <= 1000 else {
                throw ValidationError("invalid --bake-max-p99 '\(text)': use a factor 1-1000, e.g. 2x")
            }
            return value
        }
        return BakeSettings(seconds: bake, maxServerErrorPercent: percent, maxP99Factor: factor)
    }

    /// "1.5%" or "1.5" (with `suffix` "%"): the number, if finite.
    static func number(_ text: String, suffix: String) -> Double? {
        let digits = text.hasSuffix(suffix) ? String(text.dropLast(suffix.count)) : text
        guard let value = Double(digits), value.isFinite else { return nil }
        return value
    }

    /// One line on how a bake window went, for `deploy` and `rollback`.
    static func describe(_ bake: BakeInfo) -> String {
        let green = bake.green.map { figures in
            "green \(figures.responses) responses, \(figures.serverErrors) 5xx"
                + (figures.p99Milliseconds.map { ", p99 \(($0 * 100).rounded() / 100) ms" } ?? "")
        } ?? "no figures from green"
        let flip = bake.flipBackMilliseconds.map { ", back on blue in \(($0 * 1000).rounded() / 1000) ms" } ?? ""
        switch bake.result {
        case "rolled_back":
            return "bake     rolled back after \(Int(bake.afterSeconds.rounded())) s: \(bake.reason ?? bake.trigger ?? "")\(flip)"
        default:
            return "bake     \(bake.result) after \(Int(bake.afterSeconds.rounded())) s: \(bake.reason ?? green)"
        }
    }
}
