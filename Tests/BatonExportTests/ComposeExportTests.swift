import BatonControl
import BatonExport
import Testing

@Suite struct ComposeExportTests {
    @Test func composeFile() throws {
        var app = ExportGolden.app()
        app.env = ["LOG_LEVEL=debug", "PRICE=$5"]
        app.secretNames = ["API_TOKEN"]
        app.volumes = [AppVolume(name: "data", path: "/var/lib/web"), AppVolume(name: "uploads", path: "/srv/uploads", readOnly: true, shared: true)]
        app.user = ExportUser(uid: 1000, gid: 1000)
        app.memory = 512 << 20
        app.cpus = 1.5
        app.pids = 256
        let text = try ComposeExport.file(for: app)
        try ExportGolden.check(text, "compose.yaml")
        #expect(text.contains("PRICE: $$5"))
        #expect(text.contains("${API_TOKEN:?"))
    }
}
