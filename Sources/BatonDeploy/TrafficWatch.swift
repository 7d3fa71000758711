/// A sandbox's live responses, as the proxy counted them: what a bake window judges.
public protocol TrafficWatch: Sendable {
    /// `sandbox`'s responses of the last `seconds` seconds (1...60, the current one included);
    /// nil when the proxy keeps no record of it.
    func traffic(of sandbox: SandboxHandle, lastSeconds seconds: Int) async -> TrafficFigures?
}

/// Responses over some seconds: how many, how many 5xx, and their p99 latency.
public struct TrafficFigures: Sendable, Equatable, Codable {
    public var seconds: Int
    public var responses: Int
    public var serverErrors: Int
    /// Nil with no responses.
    public var p99Milliseconds: Double?

    public init(seconds: Int, responses: Int = 0, serverErrors: Int = 0, p99Milliseconds: Double? = nil) {
        self.seconds = seconds
        self.responses = responses
        self.serverErrors = serverErrors
        self.p99Milliseconds = p99Milliseconds
    }
}

/// How a bake window went, stored with the deployment (`history --json` shows it).
public struct BakeReport: Sendable, Equatable, Codable {
    /// `clean` (blue stopped at the end), `rolled_back`, or `ended` (blue exited during it).
    public var result: String
    public var windowSeconds: Double
    /// Seconds from the flip to the end of the window or the rollback decision.
    public var afterSeconds: Double
    /// `5xx`, `p99`, `green exited` or `rollback requested`; nil when clean.
    public var trigger: String?
    public var reason: String?
    public var maxServerErrorPercent: Double
    public var maxP99Factor: Double
    /// Green's figures the decision was made on (its last seconds); blue's last minute before the flip.
    public var green: TrafficFigures?
    public var blue: TrafficFigures?
    /// From the rollback decision to the route table with blue installed.
    public var flipBackMilliseconds: Double?

    public init(result: String, windowSeconds: Double, afterSeconds: Double, trigger: String? = nil, reason: String? = nil,
                maxServerErrorPercent: Double, maxP99Factor: Double, green: TrafficFigures? = nil, blue: TrafficFigures? = nil,
                flipBackMilliseconds: Double? = nil) {
        self.result = result
        self.windowSeconds = windowSeconds
        self.afterSeconds = afterSeconds
        self.trigger = trigger
        self.reason = reason
        self.maxServerErrorPercent = maxServerErrorPercent
        self.maxP99Factor = maxP99Factor
        self.green = green
        self.blue = blue
        self.flipBackMilliseconds = flipBackMilliseconds
    }
}
