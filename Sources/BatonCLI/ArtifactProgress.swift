import BatonOS
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
        ByteText.progressLine(label: label, bytes: bytes, seconds: max(now.timeIntervalSince(start), 0.001))
    }

    /// Sizes in listings and summaries, as the progress lines show them.
    static func format(bytes: Int64) -> String { ByteText.size(bytes) }
}
