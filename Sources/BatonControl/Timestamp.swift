import FoundationEssentials

/// Times on the control API and in the state database: ISO 8601 in UTC, with milliseconds
/// (2026-11-27T04:12:01.123Z) or, for an app's creation time, whole seconds.
public enum Timestamp {
    private static let milliseconds = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private static let seconds = Date.ISO8601FormatStyle()

    public static func now() -> String { string(Date()) }

    public static func string(_ date: Date, fractionalSeconds: Bool = true) -> String {
        (fractionalSeconds ? milliseconds : seconds).format(date)
    }

    /// Reads either form.
    public static func date(_ text: String) -> Date? {
        (try? milliseconds.parse(text)) ?? (try? seconds.parse(text))
    }
}
