import ArgumentParser
import BatonControl

/// `baton app inspect APP`: every setting of one app, as JSON, with an `effective` object
/// saying what a setting left to the artifact or to Baton's default comes to (`"port":
/// {"value": "8000", "source": "artifact"}`) where the app's own field is null.
struct AppInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show one app as JSON.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "App name.")
    var app: String

    @Flag(help: "Print JSON (the default; accepted for symmetry with listings).")
    var json = false

    func run() throws {
        let client = try global.controlClient
        let info = try client.app(named: app)
        // A daemon too old to answer: the app's own fields alone, as before.
        try Output.json(Inspected(app: info, effective: try? client.effectiveSettings(app: app)))
    }
}

/// The app's fields, then `effective`, in one object.
private struct Inspected: Encodable {
    let app: AppInfo
    let effective: AppEffective?

    func encode(to encoder: any Encoder) throws {
        try app.encode(to: encoder)
        guard let effective else { return }
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(effective, forKey: .effective)
    }

    enum Key: String, CodingKey { case effective }
}
