import BatonApplyFile
import BatonControl
import BatonOS
import Testing

/// Bake (part 3): the `bake`, `bake-max-5xx` and `bake-max-p99` keys of a sandbox app.
@Suite struct ApplyFileBakeTests {
    static func file(_ keys: String) -> String {
        """
        apps:
          web:
            artifact: web:1
            hosts: [web.test]
        \(keys)
        """
    }

    @Test func bakeKeysSetTheAppsBakeWindow() throws {
        let parsed = try ApplyFileParser.parse(Self.file("    bake: 30\n    bake-max-5xx: 2.5\n    bake-max-p99: 3"), file: "baton.yml")
        let spec = try #require(parsed.apps.first?.spec)
        #expect(spec.bakeSeconds == 30 && spec.bakeMaxServerErrorPercent == 2.5 && spec.bakeMaxP99Factor == 3)
        let plain = try ApplyFileParser.parse(Self.file(""), file: "baton.yml")
        #expect(plain.apps.first?.spec.storedBakeSettings == BakeSettings(seconds: 0, maxServerErrorPercent: 1, maxP99Factor: 2))
    }

    @Test func anOutOfRangeBakeIsOneLocatedError() {
        for (keys, place, message) in [("    bake: 601", "5:11", "bake window must be 0-600 seconds"),
                                       ("    bake: 10\n    bake-max-5xx: 101", "6:19", "bake 5xx limit must be 0-100 percent"),
                                       ("    bake-max-p99: 0.5", "5:19", "bake p99 limit must be 1-1000 times the old sandbox's"),
                                       ("    bake: soon", "5:11", "'bake' must be a number of seconds, not 'soon'")] {
            do {
                _ = try ApplyFileParser.parse(Self.file(keys), file: "baton.yml")
                Issue.record("\(keys) was accepted")
            } catch {
                #expect(error.message.hasPrefix("baton.yml:\(place): "), "\(error.message)")
                #expect(error.message.hasSuffix(message), "\(error.message)")
            }
        }
    }
}
