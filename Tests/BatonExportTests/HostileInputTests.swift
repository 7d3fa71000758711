import BatonControl
import BatonExport
import Testing
import Yams

/// Attacks through what an export copies into its files: an env value (set by whoever runs
/// `app set`, or taken from an apply file), a health path (an artifact's own label), an
/// artifact's local name (a pull's). None may add a key, a document or a comment of its own,
/// or make Kubernetes or Compose read another value.
@Suite struct HostileInputTests {
    static let injection = "x\nkind: Secret\n---\napiVersion: v1\n# end"

    static func hostileApp() -> ExportApp {
        var app = ExportGolden.app()
        app.env = ["INJECT=\(injection)", "EXPAND=$(HOME) ${HOME} $$", "QUOTE=' \" : - [ ] { } & * ! | > % @ `", "BOOL=yes", "NUMBER=0123", "SHORT=y", "CLOCK=22:22"]
        app.health.path = "/h#ealth?a=b&c=:d"
        app.image.source = "evil:1\napiVersion: v1\nkind: Pod"
        return app
    }

    @Test func anEnvValueCannotAddADocumentOrAKey() throws {
        let text = try KubernetesExport.files(for: Self.hostileApp(), namespace: nil)[0].text
        let documents = try Yams.load_all(yaml: text).map { $0 as? [String: Any] ?? [:] }
        #expect(documents.map { $0["kind"] as? String ?? "?" } == ["Deployment", "Service", "Ingress"])
        let spec = (documents[0]["spec"] as? [String: Any])?["template"] as? [String: Any]
        let container = ((spec?["spec"] as? [String: Any])?["containers"] as? [[String: Any]])?.first ?? [:]
        let env = (container["env"] as? [[String: Any]] ?? []).reduce(into: [String: String]()) { result, entry in
            if let name = entry["name"] as? String, let value = entry["value"] as? String { result[name] = value }
        }
        // Read back exactly, `$` doubled so Kubernetes expands nothing; strings stay strings.
        #expect(env["INJECT"] == Self.injection)
        #expect(env["EXPAND"] == "$$(HOME) $${HOME} $$$$")
        #expect(env["QUOTE"] == "' \" : - [ ] { } & * ! | > % @ `")
        #expect(env["BOOL"] == "yes")
        #expect(env["NUMBER"] == "0123")
        #expect(text.contains("value: 'y'") && text.contains("value: '22:22'"), "YAML 1.1 readers would see a bool and a base-60 number")
        #expect(((container["livenessProbe"] as? [String: Any])?["httpGet"] as? [String: Any])?["path"] as? String == "/h#ealth?a=b&c=:d")
        // The artifact's name is in a comment: its line break cannot start YAML.
        #expect(!text.contains("\napiVersion: v1\nkind: Pod"))
        #expect(text.contains("# artifact evil:1?apiVersion: v1?kind: Pod"))
    }

    @Test func composeInterpolatesNothingButTheSecrets() throws {
        var app = Self.hostileApp()
        app.secretNames = ["API_TOKEN"]
        let text = try ComposeExport.file(for: app)
        let root = try Yams.load(yaml: text) as? [String: Any]
        let service = ((root?["services"] as? [String: Any])?["web"] as? [String: Any]) ?? [:]
        #expect(root?.keys.sorted() == ["services"])
        let environment = service["environment"] as? [String: Any] ?? [:]
        #expect(environment["INJECT"] as? String == Self.injection)
        #expect(environment["EXPAND"] as? String == "$$(HOME) $${HOME} $$$$")
        #expect(environment["API_TOKEN"] as? String == "${API_TOKEN:?set API_TOKEN in the environment (a Baton secret)}")
        #expect(environment["BOOL"] as? String == "yes")
    }

    @Test func namesThatCouldCarryYAMLAreRefused() throws {
        var app = ExportGolden.app()
        app.hosts = ["web.example.com\nkind: Secret"]
        #expect(throws: (any Error).self) { try KubernetesExport.files(for: app, namespace: nil) }
        app = ExportGolden.app()
        app.secretNames = ["TOKEN: x"]
        #expect(throws: (any Error).self) { try KubernetesExport.files(for: app, namespace: nil) }
        app = ExportGolden.app()
        app.volumes = [AppVolume(name: "data\n", path: "/data")]
        #expect(throws: (any Error).self) { try ComposeExport.file(for: app) }
        app = ExportGolden.app()
        app.image.repository = "registry.example.com/x\ny"
        #expect(throws: (any Error).self) { try ComposeExport.file(for: app) }
    }
}
