import BatonExport
import Foundation
import Testing

/// Golden files under Tests/Fixtures/export: what each feature makes the exporters write,
/// byte for byte. `BATON_UPDATE_GOLDEN=1` rewrites them (review the diff).
enum ExportGolden {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/export").path

    static func path(_ name: String) -> String { directory + "/" + name }

    static func check(_ text: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let file = path(name)
        if ProcessInfo.processInfo.environment["BATON_UPDATE_GOLDEN"] == "1" {
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOfFile: file, encoding: .utf8)
        #expect(text == expected, "\(name) differs from the golden file (BATON_UPDATE_GOLDEN=1 rewrites it)", sourceLocation: sourceLocation)
    }

    /// The files of a Kubernetes export as one text: each file's path, then its contents.
    static func joined(_ files: [ExportFile]) -> String {
        files.map { "# file: \($0.path)\n" + $0.text }.joined(separator: "---\n")
    }

    static let digest = "sha256:" + String(repeating: "ab12", count: 16)

    /// A deployed app with the defaults `baton app create` gives.
    static func app(_ name: String = "web") -> ExportApp {
        ExportApp(name: name,
                  image: ExportImage(repository: "registry.example.com/team/\(name)", digest: digest, pushed: true, source: "\(name):1.0"),
                  hosts: ["\(name).example.com"], port: 8080, health: ExportHealth(path: "/healthz", status: 200, timeout: 30))
    }
}
