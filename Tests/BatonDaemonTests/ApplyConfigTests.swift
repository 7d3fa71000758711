import Foundation
import Glibc
import Testing

/// An apply file's env and secrets: a change of them alone is a swap like `app set`'s, an
/// unchanged file does nothing, and secrets read from files are never printed.
@Suite(.serialized, .enabled(if: geteuid() == 0, "requires root"))
struct ApplyConfigTests {
    @Test func aChangeOfEnvOrOfASecretFileSwapsAndAnUnchangedFileDoesNothing() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        let token = "tok-\(UUID().uuidString)"
        try token.write(toFile: fixture.root + "/token.txt", atomically: true, encoding: .utf8)
        let file = fixture.root + "/baton.yml"
        func declare(greeting: String) throws {
            try """
                apps:
                  web:
                    artifact: site:1
                    hosts: [\(DeployFixture.host)]
                    env: { GREETING: \(greeting) }
                    secrets: { TOKEN: { file: token.txt }, INLINE: inline-value }

                """.write(toFile: file, atomically: true, encoding: .utf8)
        }
        var outputs: [BatonExecutable.Result] = []
        func apply(_ extra: [String] = []) throws -> [[String: Any]] {
            let result = try fixture.baton(["apply", "-f", file, "--json"] + extra)
            outputs.append(result)
            return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] ?? []
        }

        try declare(greeting: "hi")
        #expect(try apply().map { $0["action"] as? String } == ["swap"])
        var environment = try fixture.servingEnvironment()
        #expect(environment.contains("GREETING=hi") && environment.contains("TOKEN=\(token)") && environment.contains("INLINE=inline-value"))
        #expect(try fixture.history().count == 1)

        #expect(try apply(["--dry-run"]).map { $0["action"] as? String } == ["unchanged"])
        #expect(try apply().map { $0["action"] as? String } == ["unchanged"], "the same secrets are no change")
        #expect(try fixture.history().count == 1)

        try declare(greeting: "hello")
        let envSwap = try apply()
        #expect(envSwap.map { $0["action"] as? String } == ["swap"] && envSwap.first?["changes"] as? [String] == ["env"])
        #expect(envSwap.first?["from_digest"] as? String == envSwap.first?["to_digest"] as? String, "the same bytes")
        #expect(try fixture.servingEnvironment().contains("GREETING=hello"))

        let rotated = "tok-\(UUID().uuidString)"
        try rotated.write(toFile: fixture.root + "/token.txt", atomically: true, encoding: .utf8)
        let secretSwap = try apply()
        #expect(secretSwap.first?["changes"] as? [String] == ["secrets"], "\(secretSwap)")
        environment = try fixture.servingEnvironment()
        #expect(environment.contains("TOKEN=\(rotated)") && environment.contains("GREETING=hello"))
        let records = try fixture.history()
        #expect(records.map { $0["config_version"] as? Int } == [4, 3, 2])
        #expect(records.allSatisfy { $0["outcome"] as? String == "succeeded" })

        // Rollback undoes the rotation: the earlier token comes back, from state.db.
        try fixture.baton(["rollback", "web"])
        #expect(try fixture.servingEnvironment().contains("TOKEN=\(token)"))

        unlink(fixture.root + "/token.txt")
        let missing = try fixture.baton(["apply", "-f", file], allowFailure: true)
        #expect(missing.status != 0)
        #expect(missing.stderr.hasPrefix("error: \(file):2:3: app web: secret TOKEN: cannot read secret file \(fixture.root)/token.txt: No such file"),
                "\(missing.stderr)")
        #expect(try fixture.history().count == 4, "nothing changed")
        for output in outputs + [missing] {
            for value in [token, rotated, "inline-value"] {
                #expect(!output.stdout.contains(value) && !output.stderr.contains(value))
            }
        }
    }
}
