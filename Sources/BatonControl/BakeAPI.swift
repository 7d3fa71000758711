/// A bake window as the API carries it (`baton deploy --bake S --bake-max-5xx PCT
/// --bake-max-p99 Nx`); a field left out takes its default.
public struct BakeSettings: Codable, Sendable, Equatable {
    /// Seconds blue is kept ready after the flip; 0: none.
    public var seconds: Double
    /// Green's 5xx share (percent) that rolls it back; default 1.
    public var maxServerErrorPercent: Double?
    /// Green's p99 latency, in multiples of blue's, that rolls it back; default 2.
    public var maxP99Factor: Double?

    public static let maxSeconds = 600.0
    public static let defaultMaxServerErrorPercent = 1.0
    public static let defaultMaxP99Factor = 2.0

    public init(seconds: Double, maxServerErrorPercent: Double? = nil, maxP99Factor: Double? = nil) {
        self.seconds = seconds
        self.maxServerErrorPercent = maxServerErrorPercent
        self.maxP99Factor = maxP99Factor
    }
}

/// Figures of one sandbox's responses over some seconds.
public struct TrafficInfo: Codable, Sendable, Equatable {
    public var seconds: Int
    public var responses: Int
    public var serverErrors: Int
    public var p99Milliseconds: Double?
}

/// How a deployment's bake window went (`history --json`): `clean`, `rolled_back` or `ended`
/// (blue exited during it), when, why, and the figures the decision was made on.
public struct BakeInfo: Codable, Sendable, Equatable {
    public var result: String
    public var windowSeconds: Double
    public var afterSeconds: Double
    public var trigger: String?
    public var reason: String?
    public var maxServerErrorPercent: Double
    public var maxP99Factor: Double
    /// Green's last seconds when decided; blue's last minute before the flip.
    public var green: TrafficInfo?
    public var blue: TrafficInfo?
    /// From the rollback decision to the route table with blue installed.
    public var flipBackMilliseconds: Double?
}
