import BatonApply
import BatonApplyFile
import BatonControl
import BatonOS
import Testing

/// `replicas: N` in an apply file: read for sandbox apps only, refused with its place when
/// out of range, and a change of it swaps a serving app to the same bytes (the swap starts
/// the new number of sandboxes).
@Suite struct ApplyReplicasTests {
    @Test func readsTheCountOfASandboxApp() throws {
        let text = "apps:\n  web:\n    artifact: web:1\n    hosts: [web.test]\n    replicas: 3\n  api:\n    artifact: api:1\n    hosts: [api.test]\n"
        let file = try ApplyFileParser.parse(text, file: "baton.yml")
        #expect(file.apps[0].spec.replicas == 3)
        #expect(file.apps[1].spec.replicas == nil, "left out: the default")
    }

    @Test func aCountOutOfRangeOrOnAnUpstreamAppIsRefusedWhereItIsWritten() {
        let head = "apps:\n  web:\n    artifact: web:1\n    hosts: [web.test]\n"
        #expect(failure(head + "    replicas: 0\n") == "baton.yml:5:15: 'replicas' must be 1-16, not 0")
        #expect(failure(head + "    replicas: 17\n") == "baton.yml:5:15: 'replicas' must be 1-16, not 17")
        #expect(failure(head + "    replicas: two\n").hasPrefix("baton.yml:5:15: 'replicas'"), "\(failure(head + "    replicas: two\n"))")
        let upstream = "apps:\n  old:\n    upstream: 127.0.0.1:9000\n    hosts: [old.test]\n    replicas: 2\n"
        #expect(failure(upstream).hasPrefix("baton.yml:5:5: unknown key 'replicas' in app old"), "\(failure(upstream))")
    }

    @Test func aNewCountOfAServingAppIsAnUpdateAndASwapToTheSameBytes() throws {
        let digest = "sha256:" + String(repeating: "1", count: 64)
        var spec = AppSpec(name: "web", hosts: ["web.test"])
        spec.replicas = 3
        let app = ResolvedApp(declared: DeclaredApp(spec: spec, artifact: "web:1", location: SourceLocation(file: "baton.yml", line: 2, column: 3)),
                              digest: digest)
        var current = AppInfo(name: "web", hosts: ["web.test"], kind: .sandbox, digest: digest, healthStatus: 200, healthTimeout: 30,
                              drainTimeout: 30, env: [], createdAt: "2026-01-01T00:00:00Z", inFlight: 0)
        let plan = try ApplyPlan.make(desired: [app], current: [current], prune: false)
        #expect(plan.steps.map(\.action) == [.update, .swap], "\(plan.steps.map(\.action))")
        #expect(plan.steps.first?.changes == ["replicas"])
        #expect(plan.steps.last?.fromDigest == digest && plan.steps.last?.toDigest == digest)
        current.replicas = 3
        #expect(try ApplyPlan.make(desired: [app], current: [current], prune: false).changes.isEmpty)
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
