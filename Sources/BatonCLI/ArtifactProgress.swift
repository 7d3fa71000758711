import FoundationEssentials

/// Progress lines on stderr while a large layer is written: bytes so far and the rate, at most
/// once a second, only once the work has taken a second.
final class ProgressMeter {
    private let label: String
    private let start = Date()
    private var lastPrint: Date
    private var bytes: Int64 = 0
    private var printed = false

    init(label: String) {
        self.label = label
        lastPrint = start
    }

    func update(_ bytes: Int64) {
        self.bytes = bytes
        let now = Date()
        guard now.timeIntervalSince(lastPrint) >= 1 else { return }
        lastPrint = now
        printed = true
        Output.progress(line(now))
    }

    func finish() {
        if printed { Output.progress(line(Date())) }
    }

    private func line(_ now: Date) -> String {
        let seconds = max(now.timeIntervalSince(start), 0.001)
        let rate = Double(bytes) / seconds
        return "\(label): \(ProgressMeter.format(bytes: bytes)) in \(ProgressMeter.oneDecimal(seconds)) s, \(ProgressMeter.format(bytes: Int64(rate)))/s"
    }

    static func format(bytes: Int64) -> String {
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
    static func oneDecimal(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(abs(tenths % 10))"
    }
}
