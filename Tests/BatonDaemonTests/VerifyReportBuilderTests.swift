@testable import BatonDaemon
import BatonControl
import Testing

/// `VerifyReportBuilder`: the figures of a report from its samples, without a daemon.
@Suite struct VerifyReportBuilderTests {
    static func sample(_ at: Double, _ latencyMs: Double, status: Int? = 200, target: String? = "blue-target") -> VerifyLoad.Sample {
        VerifyLoad.Sample(sentAt: .milliseconds(Int64(at * 1000)), latency: .microseconds(Int64(latencyMs * 1000)), status: status,
                          target: status == nil ? nil : target, failure: status == nil ? "connect refused" : nil)
    }

    @Test func splitsAroundTheFlipAndBlueStopAndCountsByVersion() {
        let builder = VerifyReportBuilder(
            path: "/health", rate: 4, startedAt: "t", flipAt: .seconds(1), blueStoppedAt: .milliseconds(1500), endedAt: .seconds(3),
            versions: ["blue-target": VerifyVersion(role: "blue", sandbox: "b", digest: "sha256:b"),
                       "green-target": VerifyVersion(role: "green", sandbox: "g", digest: "sha256:g")])
        let samples = [
            Self.sample(0.1, 1), Self.sample(0.5, 3),
            Self.sample(1.2, 2, target: "green-target"), Self.sample(1.3, 4, status: 502, target: "other-target"),
            Self.sample(2.0, 1, target: "green-target"), Self.sample(2.5, 0, status: nil),
        ]
        let report = builder.build(samples)
        #expect(report.requests == 6 && report.failed == 1 && report.non2xx == 1)
        #expect(report.before.requests == 2 && report.before.p50 == 1 && report.before.p99 == 3)
        #expect(report.during.requests == 2 && report.after.requests == 1)
        #expect(report.all.requests == 5)
        #expect(report.timeline.count == 4)
        #expect(report.timeline[0].answered == ["blue": 2])
        #expect(report.timeline[1].answered == ["green": 1, "other": 1] && report.timeline[1].non2xx == 1)
        #expect(report.timeline[2].failed == 1 && report.timeline[2].answered == ["green": 1])
        #expect(report.failures.count == 2 && report.failures[1].contains("connect refused"))
        #expect(report.versions.map(\.role) == ["blue", "green"])
    }

    /// A bake window's rollback: green's time ends at the flip back, blue answers after it and
    /// is never stopped.
    @Test func aFlipBackEndsGreensTimeAndBlueAnswersAfterIt() {
        var builder = VerifyReportBuilder(
            path: "/api", rate: 4, startedAt: "t", flipAt: .seconds(1), blueStoppedAt: nil, endedAt: .seconds(3),
            versions: ["blue-target": VerifyVersion(role: "blue", sandbox: "b", digest: "sha256:b"),
                       "green-target": VerifyVersion(role: "green", sandbox: "g", digest: "sha256:g")])
        builder.flipBackAt = .seconds(2)
        let samples = [
            Self.sample(0.5, 1),
            Self.sample(1.2, 2, status: 500, target: "green-target"), Self.sample(1.7, 2, status: 500, target: "green-target"),
            Self.sample(2.2, 1), Self.sample(2.6, 1),
        ]
        let report = builder.build(samples)
        #expect(report.flipBackAt == 2 && report.blueStoppedAt == nil)
        #expect(report.before.requests == 1 && report.during.requests == 2 && report.after.requests == 2)
        #expect(report.non2xx == 2)
        #expect(report.timeline[2].answered == ["blue": 2])
    }

    @Test func percentilesAreNearestRank() {
        let values = (1...100).map(Double.init)
        #expect(VerifyReportBuilder.percentile(0.5, of: values) == 50)
        #expect(VerifyReportBuilder.percentile(0.99, of: values) == 99)
        #expect(VerifyReportBuilder.percentile(0.99, of: [7]) == 7)
        #expect(VerifyReportBuilder.percentile(0.5, of: []) == nil)
    }
}
