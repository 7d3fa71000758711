@testable import BatonCLI
import BatonControl
import Testing

/// The picture `--report FILE.svg` draws from a verify report.
@Suite struct VerifyTimelineSVGTests {
    static func report(path: String = "/health", failed: Int = 0) -> VerifyReport {
        let none = VerifyLatency(requests: 0, p50: nil, p99: nil)
        return VerifyReport(
            path: path, rate: 10, startedAt: "2026-01-01T00:00:00.000Z", seconds: 3, flipAt: 1.5, blueStoppedAt: 1.6,
            requests: 30, failed: failed, non2xx: 0, before: VerifyLatency(requests: 15, p50: 1, p99: 2), during: none,
            after: VerifyLatency(requests: 15, p50: 1, p99: 3), all: VerifyLatency(requests: 30, p50: 1, p99: 3),
            versions: [VerifyVersion(role: "blue", sandbox: "web-1", digest: "sha256:" + String(repeating: "a", count: 64)),
                       VerifyVersion(role: "green", sandbox: "web-2", digest: "sha256:" + String(repeating: "b", count: 64))],
            timeline: [VerifySecond(second: 0, answered: ["blue": 10], failed: 0, non2xx: 0, p99: 2),
                       VerifySecond(second: 1, answered: ["blue": 5, "green": 5 - failed], failed: failed, non2xx: 0, p99: 3),
                       VerifySecond(second: 2, answered: ["green": 10], failed: 0, non2xx: 0, p99: 1)],
            failures: [])
    }

    @Test func drawsBarsPerVersionTheP99LineAndTheFlip() {
        let svg = VerifyTimelineSVG.draw(Self.report(), title: "deploy web")
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
        #expect(svg.contains(">flip<") && svg.contains(">blue stopped<"))
        #expect(svg.contains("fill=\"#3b6fd4\"") && svg.contains("fill=\"#2f9e44\""))
        #expect(svg.contains("<polyline"))
        #expect(!svg.contains("class=\"errors\""), "no error bar without errors")
        #expect(VerifyTimelineSVG.draw(Self.report(failed: 2), title: "t").contains("fill=\"#e03131\" class=\"errors\""))
    }

    /// A path with markup in it (the operator's, but printed into XML) stays text.
    @Test func textFromTheReportIsEscaped() {
        let svg = VerifyTimelineSVG.draw(Self.report(path: "/a<script>&\"'\u{1}"), title: "<b>")
        #expect(!svg.contains("<script>") && !svg.contains("<b>"))
        #expect(svg.contains("/a&lt;script&gt;&amp;&quot;&apos;?"))
    }

    @Test func scalesRoundUpToOneTwoOrFive() {
        #expect(VerifyTimelineSVG.niceCeiling(180) == 200)
        #expect(VerifyTimelineSVG.niceCeiling(201) == 500)
        #expect(VerifyTimelineSVG.niceCeiling(1) == 1)
        #expect(VerifyTimelineSVG.niceCeiling(0.3) == 0.5)
    }
}
