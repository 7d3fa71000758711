import Foundation

/// Where a transfer's progress lines go (stderr in the CLI, nowhere in the daemon).
public typealias ProgressSink = @Sendable (String) -> Void

/// Bytes moved and the rate, at most once a second and only once the transfer has taken a
/// second, as `baton artifact publish` reports its layer.
final class TransferProgress {
    private let label: String
    private let sink: ProgressSink?
    private let start = Date()
    private var lastPrint: Date
    private(set) var bytes: Int64 = 0
    private var printed = false

    init(label: String, sink: ProgressSink?) {
        self.label = label
        self.sink = sink
        lastPrint = start
    }

    func add(_ count: Int) {
        bytes += Int64(count)
        guard let sink else { return }
        let now = Date()
        guard now.timeIntervalSince(lastPrint) >= 1 else { return }
        lastPrint = now
        printed = true
        sink(line(now))
    }

    func finish() {
        if printed, let sink { sink(line(Date())) }
    }

    var seconds: Double { max(Date().timeIntervalSince(start), 0.001) }

    private func line(_ now: Date) -> String {
        let seconds = max(now.timeIntervalSince(start), 0.001)
        return "\(label): \(Self.format(bytes)) in \(Self.tenths(seconds)) s, \(Self.format(Int64(Double(bytes) / seconds)))/s"
    }

    static func format(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : tenths(value) + " " + units[unit]
    }

    static func tenths(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(abs(tenths % 10))"
    }
}
