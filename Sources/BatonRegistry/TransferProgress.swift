import BatonOS
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
        ByteText.progressLine(label: label, bytes: bytes, seconds: max(now.timeIntervalSince(start), 0.001))
    }
}
