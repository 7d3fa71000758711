/// Sizes and rates as progress lines and listings show them ("812 B", "3.4 MiB"), shared by
/// the CLI and the registry client so both report transfers the same way.
public enum ByteText {
    /// Bytes in the largest binary unit that keeps the number at 1 or more, to one decimal.
    public static func size(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : oneDecimal(value) + " " + units[unit]
    }

    /// "%.1f" without Foundation's String(format:).
    public static func oneDecimal(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(abs(tenths % 10))"
    }

    /// `LABEL: 3.4 MiB in 2.0 s, 1.7 MiB/s`: a transfer's progress after `seconds` (> 0).
    public static func progressLine(label: String, bytes: Int64, seconds: Double) -> String {
        "\(label): \(size(bytes)) in \(oneDecimal(seconds)) s, \(size(Int64(Double(bytes) / seconds)))/s"
    }
}
