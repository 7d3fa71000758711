import BatonApplyFile
import BatonControl
import BatonOS
import Testing

/// The apply key `smoke`: checks as `--smoke` takes them, stored written the standard way, a
/// bad one refused where it is written.
@Suite struct ApplyFileSmokeTests {
    @Test func smokeChecksAreReadAsTheFlagTakesThem() throws {
        let text = """
            apps:
              web:
                artifact: web:1
                hosts: [web.example.com]
                smoke: ["GET /healthz 200", 'GET /api/items   200 contains "items"']
            """
        let file = try ApplyFileParser.parse(text, file: "baton.yml")
        #expect(file.apps.first?.spec.smoke == ["GET /healthz 200", #"GET /api/items 200 contains "items""#])
        let without = try ApplyFileParser.parse("apps:\n  web:\n    artifact: web:1\n    hosts: [web.example.com]\n", file: "baton.yml")
        #expect(without.apps.first?.spec.smoke == nil)
    }

    @Test func aBadCheckIsRefusedWhereItIsWritten() {
        let text = """
            apps:
              web:
                artifact: web:1
                hosts: [web.example.com]
                smoke: ["GET /healthz 2OO"]
            """
        do {
            _ = try ApplyFileParser.parse(text, file: "baton.yml")
            Issue.record("a bad smoke check was accepted")
        } catch {
            #expect(error.message == "baton.yml:5:12: invalid smoke check 'GET /healthz 2OO': status '2OO' is not an HTTP status: use 100-599")
        }
    }

    @Test func anUpstreamAppTakesNoSmokeChecks() {
        let text = """
            apps:
              legacy:
                upstream: 127.0.0.1:9000
                hosts: [legacy.example.com]
                smoke: ["GET / 200"]
            """
        #expect(throws: BatonError.self) { try ApplyFileParser.parse(text, file: "baton.yml") }
    }
}
