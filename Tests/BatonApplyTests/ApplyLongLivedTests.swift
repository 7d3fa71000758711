import BatonApplyFile
import BatonControl
import BatonOS
import Testing

/// longlived: `drain-long` in an apply file is the app's `--drain-long-timeout`.
@Suite struct ApplyLongLivedTests {
    @Test func drainLongIsTheLongDrainTimeout() throws {
        let text = "apps:\n  web:\n    artifact: web:1\n    hosts: [web.test]\n    drain: 5\n    drain-long: 600\n"
        let spec = try ApplyFileParser.parse(text, file: "baton.yml").apps[0].spec
        #expect(spec.drainTimeout == 5)
        #expect(spec.drainLongTimeout == 600)
        let without = try ApplyFileParser.parse("apps:\n  web:\n    artifact: web:1\n    hosts: [web.test]\n", file: "baton.yml").apps[0].spec
        #expect(without.drainLongTimeout == nil, "left out: the drain timeout")
    }

    @Test func aBadDrainLongIsRefused() {
        for value in ["0", "-3", "100000"] {
            var spec = AppSpec(name: "web", hosts: ["web.test"])
            spec.drainLongTimeout = Double(value)
            #expect(throws: BatonError.self, "drain-long \(value)") { try spec.validated() }
        }
    }
}
