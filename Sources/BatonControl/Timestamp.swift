import FoundationEssentials

/// Times on the control API and in the state database: ISO 8601 in UTC with milliseconds,
/// e.g. 2026-11-27T04:12:01.123Z.
public enum Timestamp {
    private static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    public static func now() -> String { string(Date()) }

    public static func string(_ date: Date) -> String { style.format(date) }

    public static func date(_ text: String) -> Date? { try? style.parse(text) }
}
