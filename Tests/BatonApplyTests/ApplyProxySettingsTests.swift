import BatonApply
import BatonApplyFile
import BatonControl
import BatonOS
import Testing

/// `https-redirect`, `hsts` and `protocol` in an apply file: read for sandbox and upstream
/// apps, refused with their place when malformed, and changed in place (no swap) by a plan.
@Suite struct ApplyProxySettingsTests {
    @Test func readsTheSettingsOfBothKindsOfApp() throws {
        let text = """
            apps:
              web:
                artifact: web:1
                hosts: [web.test]
                https-redirect: true
                hsts: false
              grpc:
                upstream: 127.0.0.1:50051
                hosts: [grpc.test]
                protocol: h2c
                hsts: true
            """
        let file = try ApplyFileParser.parse(text, file: "baton.yml")
        let web = file.apps[0].spec
        #expect(web.httpsRedirect == true)
        #expect(web.hsts == false)
        #expect(web.upstreamProtocol == nil, "left out: the default")
        let grpc = file.apps[1].spec
        #expect(grpc.upstreamProtocol == .h2c)
        #expect(grpc.hsts == true)
        #expect(grpc.httpsRedirect == nil)
    }

    @Test func malformedValuesNameTheirPlace() {
        let head = "apps:\n  web:\n    artifact: web:1\n    hosts: [web.test]\n"
        #expect(failure(head + "    protocol: http2\n") == "baton.yml:5:15: 'protocol' must be http1 or h2c, not 'http2'")
        #expect(failure(head + "    protocol: [h2c]\n") == "baton.yml:5:15: 'protocol' must be a single value")
        #expect(failure(head + "    https-redirect: yes\n") == "baton.yml:5:21: 'https-redirect' must be true or false, not 'yes'")
        #expect(failure(head + "    hsts: 1\n") == "baton.yml:5:11: 'hsts' must be true or false, not '1'")
        #expect(failure(head + "    https_redirect: true\n").hasPrefix("baton.yml:5:5: unknown key 'https_redirect' in app web"))
    }

    @Test func aChangedSettingIsAnUpdateInPlaceAndTheDefaultsMatch() throws {
        let digest = "sha256:" + String(repeating: "1", count: 64)
        var spec = AppSpec(name: "web", hosts: ["web.test"])
        spec.upstreamProtocol = .h2c
        spec.hsts = true
        let app = ResolvedApp(declared: DeclaredApp(spec: spec, artifact: "web:1", location: SourceLocation(file: "baton.yml", line: 2, column: 3)),
                              digest: digest)
        var current = AppInfo(name: "web", hosts: ["web.test"], kind: .sandbox, digest: digest, healthStatus: 200, healthTimeout: 30,
                              drainTimeout: 30, env: [], createdAt: "2026-01-01T00:00:00Z", inFlight: 0)
        let plan = try ApplyPlan.make(desired: [app], current: [current], prune: false)
        #expect(plan.steps.map(\.action) == [.update], "the proxy's settings need no new sandbox")
        #expect(plan.steps[0].changes == ["hsts", "protocol"])

        current.hsts = true
        current.upstreamProtocol = .h2c
        #expect(try ApplyPlan.make(desired: [app], current: [current], prune: false).changes.isEmpty)
        // A file that leaves them out means the stored defaults.
        var plain = app
        plain.declared.spec.hsts = nil
        plain.declared.spec.upstreamProtocol = nil
        current.hsts = false
        current.upstreamProtocol = .http1
        #expect(try ApplyPlan.make(desired: [plain], current: [current], prune: false).changes.isEmpty)
    }

    private func failure(_ text: String) -> String {
        do {
            _ = try ApplyFileParser.parse(text, file: "baton.yml")
            return "no error"
        } catch {
            return error.message
        }
    }
}
