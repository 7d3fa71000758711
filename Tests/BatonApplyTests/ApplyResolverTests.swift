import BatonApply
import BatonApplyFile
import BatonControl
import BatonDaemon
import BatonOS
import Testing

/// Artifacts are resolved before anything changes; an unknown one is named where it is written.
@Suite struct ApplyResolverTests {
    @Test func everyArtifactIsResolvedAndUpstreamAppsNeedNone() throws {
        let file = try ApplyFileParser.parse(
            "apps:\n  web:\n    artifact: site:1\n    hosts: [w.test]\n  old:\n    upstream: 127.0.0.1:9\n    hosts: [o.test]\n", file: "b.yml")
        var asked: [String] = []
        let resolved = try ApplyResolver.resolve(file) { ref in
            asked.append(ref)
            return "sha256:" + ref
        }
        #expect(asked == ["site:1"])
        #expect(resolved.map(\.digest) == ["sha256:site:1", nil])
    }

    @Test func anUnknownArtifactIsNamedWithItsPlace() throws {
        let file = try ApplyFileParser.parse("apps:\n  web:\n    artifact: site:9\n    hosts: [w.test]\n", file: "b.yml")
        #expect {
            try ApplyResolver.resolve(file) { _ in throw BatonError(.notFound, "no artifact named site:9") }
        } throws: { error in
            (error as? BatonError)?.message == "b.yml:3:15: app web: unknown artifact site:9: publish or import it first (see 'baton artifact ls')"
        }
        #expect {
            try ApplyResolver.resolve(file) { _ in throw BatonError(.invalidArgument, "bad reference") }
        } throws: { error in
            (error as? BatonError)?.message == "b.yml:3:15: app web: artifact site:9: bad reference"
        }
    }
}
