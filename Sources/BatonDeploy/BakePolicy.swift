import BatonOS

/// The bake window of a swap (`--bake S --bake-max-5xx PCT --bake-max-p99 Nx`): after the
/// flip blue keeps running with no new traffic for `window`, and green is rolled back to it
/// when green's live figures cross a threshold or green exits.
public struct BakePolicy: Sendable, Equatable {
    /// How long blue is kept ready after the flip; zero: no bake window.
    public var window: Duration
    /// How many points green's share of 5xx responses (percent) may exceed blue's share over
    /// its last minute before the flip: with a blue that answered no 5xx, green's share itself.
    /// Errors blue gave too (a path that fails in both versions, clients asking for it on
    /// purpose) are not green's regression.
    public var maxServerErrorPercent: Double
    /// Green's p99 latency above this many times blue's (last minute before the flip) rolls it back.
    public var maxP99Factor: Double

    public static let defaultMaxServerErrorPercent = 1.0
    public static let defaultMaxP99Factor = 2.0
    /// The longest bake window: blue's sandbox is held that long at most.
    public static let maxWindow = Duration.seconds(600)
    /// Green's figures are judged over this many seconds at most (fewer right after the flip).
    static let judgedSeconds = 10
    /// Fewer responses than these say nothing about a 5xx rate, or about a p99.
    static let minResponsesFor5xx = 10
    static let minResponsesForP99 = 50
    /// A p99 rollback also needs green this much slower than blue's limit: histogram
    /// buckets and scheduling noise are not a regression.
    static let p99Slack = Duration.milliseconds(5)

    public init(window: Duration, maxServerErrorPercent: Double = BakePolicy.defaultMaxServerErrorPercent,
                maxP99Factor: Double = BakePolicy.defaultMaxP99Factor) {
        self.window = window
        self.maxServerErrorPercent = maxServerErrorPercent
        self.maxP99Factor = maxP99Factor
    }

    public func validated() throws(BatonError) -> BakePolicy {
        guard window >= .zero, window <= Self.maxWindow else {
            throw BatonError(.invalidArgument, "bake window must be 0-\(Self.maxWindow.components.seconds) seconds")
        }
        guard maxServerErrorPercent.isFinite, (0...100).contains(maxServerErrorPercent) else {
            throw BatonError(.invalidArgument, "bake 5xx limit must be 0-100 percent")
        }
        guard maxP99Factor.isFinite, maxP99Factor >= 1, maxP99Factor <= 1000 else {
            throw BatonError(.invalidArgument, "bake p99 limit must be 1-1000 times blue's")
        }
        return self
    }

    /// Why green must be rolled back, judged from its recent figures against blue's baseline;
    /// nil while it does as well as allowed.
    func verdict(green: TrafficFigures, blue: TrafficFigures) -> BakeTrigger? {
        if green.responses >= Self.minResponsesFor5xx {
            let percent = Double(green.serverErrors) * 100 / Double(green.responses)
            let bluePercent = blue.responses > 0 ? Double(blue.serverErrors) * 100 / Double(blue.responses) : 0
            if percent > bluePercent + maxServerErrorPercent {
                let limit = bluePercent > 0
                    ? "blue's \(formattedPercent(bluePercent)) + \(formattedPercent(maxServerErrorPercent))"
                    : formattedPercent(maxServerErrorPercent)
                return BakeTrigger(kind: .serverErrors, reason: "green answered \(green.serverErrors) of \(green.responses) requests with 5xx"
                                   + " (\(formattedPercent(percent)) > \(limit)) in its last \(green.seconds) s")
            }
        }
        if green.responses >= Self.minResponsesForP99, blue.responses >= Self.minResponsesForP99,
           let greenP99 = green.p99Milliseconds, let blueP99 = blue.p99Milliseconds {
            let limit = blueP99 * maxP99Factor
            let slack = Double(Self.p99Slack.components.attoseconds) / 1e15
            if greenP99 > limit, greenP99 > blueP99 + slack {
                return BakeTrigger(kind: .latency, reason: "green's p99 latency \(formattedMilliseconds(greenP99)) in its last \(green.seconds) s"
                                   + " > \(maxP99Factor)x blue's \(formattedMilliseconds(blueP99)) before the flip")
            }
        }
        return nil
    }
}

/// What made a bake window roll green back.
struct BakeTrigger: Sendable {
    enum Kind: String { case serverErrors = "5xx", latency = "p99", greenExited = "green exited", requested = "rollback requested" }
    let kind: Kind
    let reason: String
}

func formattedPercent(_ value: Double) -> String {
    let rounded = (value * 100).rounded() / 100
    return "\(rounded)%"
}

func formattedMilliseconds(_ value: Double) -> String {
    let rounded = (value * 100).rounded() / 100
    return "\(rounded) ms"
}
