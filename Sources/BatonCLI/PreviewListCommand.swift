import BatonOS
import ArgumentParser
import BatonControl
import FoundationEssentials

/// `baton preview ls`: name, host, artifact, digest, age and expiry of each preview.
struct PreviewListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List previews.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print one JSON array.")
    var json = false

    func run() throws {
        let previews = try global.controlClient.previews()
        if json {
            try Output.json(previews)
            return
        }
        Output.table(
            ["NAME", "HOST", "ARTIFACT", "DIGEST", "AGE", "EXPIRES"],
            previews.map { preview in
                [preview.name, preview.host, preview.artifact ?? "-", preview.digest.map(shortDigest) ?? "-",
                 preview.ageSeconds.map(Self.duration) ?? "-", Self.expiry(preview.expiresAt)]
            })
    }

    /// "in 5m", or "never".
    static func expiry(_ text: String?) -> String {
        guard let text else { return "never" }
        guard let date = Timestamp.date(text) else { return text }
        return "in " + duration(max(0, date.timeIntervalSinceNow))
    }

    static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds)
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return "\(whole / 60)m" }
        if whole < 86400 { return "\(whole / 3600)h\(whole % 3600 / 60)m" }
        return "\(whole / 86400)d\(whole % 86400 / 3600)h"
    }
}
