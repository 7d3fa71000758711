import BatonOS

/// Blue's long-lived connections (WebSocket tunnels, server-sent event streams) during the
/// drain of a swap: how many were open at the flip and how each ended.
public struct LongLivedInfo: Codable, Sendable, Equatable {
    public var open: Int
    public var closedByClient: Int
    /// Ended by the app (blue) itself.
    public var closedByApp: Int
    /// Ended by Baton at the long drain timeout: a close frame 1001, an event stream's end.
    public var closedByBaton: Int

    public init(open: Int, closedByClient: Int, closedByApp: Int, closedByBaton: Int) {
        self.open = open
        self.closedByClient = closedByClient
        self.closedByApp = closedByApp
        self.closedByBaton = closedByBaton
    }

    /// One line for `deploy` and `history`.
    public var summary: String {
        "\(open) long-lived connections at the flip: \(closedByClient) closed by clients, \(closedByApp) by the app, "
            + "\(closedByBaton) by Baton at the long drain timeout"
    }
}

extension AppSpec {
    /// `--drain-long-timeout` in seconds: past 0, at most a day.
    public static let drainLongTimeoutRange: ClosedRange<Double> = 0.001...86400

    /// Nil when `drainLongTimeout` is absent or in range; else the error naming it.
    public var drainLongTimeoutError: BatonError? {
        guard let value = drainLongTimeout, !Self.drainLongTimeoutRange.contains(value) else { return nil }
        return BatonError(.invalidArgument, "--drain-long-timeout \(value) is out of range: use seconds above 0, at most 86400")
    }

    /// Takes the long drain timeout `app` has now, for a spec that replaces its settings whole.
    public mutating func keepLongLivedSettings(of app: AppInfo) {
        drainLongTimeout = app.drainLongTimeout
    }
}
