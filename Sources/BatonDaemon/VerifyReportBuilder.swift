import BatonControl

/// Turns `VerifyLoad`'s samples into the stored `VerifyReport`: totals, latency before, during
/// and after the flip, and a per-second timeline of who answered. Pure, so it is tested alone.
struct VerifyReportBuilder {
    /// A run's timeline stops at this many seconds (the samples of a longer run still count).
    static let maxSeconds = 600
    /// Failures listed by reason, at most this many.
    static let maxFailuresListed = 10

    var path: String
    var rate: Int
    var startedAt: String
    /// When the flip and blue's stop happened, since the load's origin.
    var flipAt: Duration?
    var blueStoppedAt: Duration?
    /// When a bake window flipped traffic back to blue (then blue is never stopped).
    var flipBackAt: Duration? = nil
    /// When the load stopped sending.
    var endedAt: Duration
    /// The sandboxes that may answer, by the target label the proxy names.
    var versions: [String: VerifyVersion]

    func build(_ samples: [VerifyLoad.Sample]) -> VerifyReport {
        // "During" is green's time with blue still there: up to blue's stop, or the flip back.
        let duringEnd = blueStoppedAt ?? flipBackAt
        var before: [Double] = [], during: [Double] = [], after: [Double] = []
        var seconds: [Int: (answered: [String: Int], failed: Int, non2xx: Int, latencies: [Double])] = [:]
        var failed = 0, non2xx = 0
        var failures: [String] = []
        for sample in samples {
            let milliseconds = Self.seconds(sample.latency) * 1000
            let second = Int(Self.seconds(sample.sentAt))
            var slot = seconds[second] ?? ([:], 0, 0, [])
            if let status = sample.status {
                let role = sample.target.flatMap { versions[$0]?.role } ?? "other"
                slot.answered[role, default: 0] += 1
                slot.latencies.append(milliseconds)
                if !(200..<300).contains(status) {
                    non2xx += 1
                    slot.non2xx += 1
                    if failures.count < Self.maxFailuresListed { failures.append(Self.at(sample, "status \(status) from \(role)")) }
                }
                if flipAt.map({ sample.sentAt < $0 }) ?? false {
                    before.append(milliseconds)
                } else if duringEnd.map({ sample.sentAt < $0 }) ?? false {
                    during.append(milliseconds)
                } else if flipAt == nil && duringEnd == nil {
                    before.append(milliseconds)
                } else {
                    after.append(milliseconds)
                }
            } else {
                failed += 1
                slot.failed += 1
                if failures.count < Self.maxFailuresListed { failures.append(Self.at(sample, sample.failure ?? "no response")) }
            }
            if second < Self.maxSeconds { seconds[second] = slot }
        }
        let lastSecond = min(Self.maxSeconds - 1, Int(Self.seconds(endedAt)))
        let timeline = (0...max(0, lastSecond)).map { second in
            let slot = seconds[second] ?? ([:], 0, 0, [])
            return VerifySecond(second: second, answered: slot.answered, failed: slot.failed, non2xx: slot.non2xx,
                                p99: Self.percentile(0.99, of: slot.latencies))
        }
        var report = VerifyReport(
            path: path, rate: rate, startedAt: startedAt, seconds: Self.rounded(Self.seconds(endedAt)),
            flipAt: flipAt.map { Self.rounded(Self.seconds($0)) }, blueStoppedAt: blueStoppedAt.map { Self.rounded(Self.seconds($0)) },
            requests: samples.count, failed: failed, non2xx: non2xx,
            before: Self.latency(before), during: Self.latency(during), after: Self.latency(after),
            all: Self.latency(before + during + after),
            versions: versions.values.sorted { $0.role < $1.role }, timeline: timeline, failures: failures)
        report.flipBackAt = flipBackAt.map { Self.rounded(Self.seconds($0)) }
        return report
    }

    static func latency(_ milliseconds: [Double]) -> VerifyLatency {
        VerifyLatency(requests: milliseconds.count, p50: percentile(0.5, of: milliseconds), p99: percentile(0.99, of: milliseconds))
    }

    /// Nearest rank: the smallest value at or above `fraction` of the values; nil for none.
    static func percentile(_ fraction: Double, of values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return rounded(sorted[max(0, min(sorted.count - 1, rank - 1))])
    }

    static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }

    /// Three decimals: microseconds of a millisecond figure, milliseconds of a second.
    static func rounded(_ value: Double) -> Double {
        (value * 1000).rounded() / 1000
    }

    private static func at(_ sample: VerifyLoad.Sample, _ what: String) -> String {
        "at \(rounded(seconds(sample.sentAt))) s: \(what)"
    }
}
