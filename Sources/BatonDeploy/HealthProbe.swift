/// What one health check saw.
public enum HealthResult: Sendable, Equatable, CustomStringConvertible {
    /// The app answered with this HTTP status.
    case responded(status: Int)
    /// No answer: refused, timed out, closed early or not HTTP.
    case failed(reason: String)

    public var description: String {
        switch self {
        case .responded(let status): return "answered \(status)"
        case .failed(let reason): return reason
        }
    }
}

/// One health check of one sandbox. `HTTPHealthProbe` is the real one.
public protocol HealthProbe: Sendable {
    /// Checks once, taking at most about `timeout`. Never throws: every failure is a result.
    func check(timeout: Duration) async -> HealthResult
}
