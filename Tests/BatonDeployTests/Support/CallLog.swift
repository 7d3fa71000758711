import Synchronization

/// The order in which fakes were called, shared by all fakes of one test.
final class CallLog: Sendable {
    private let entries = Mutex<[String]>([])

    func append(_ entry: String) { entries.withLock { $0.append(entry) } }

    var all: [String] { entries.withLock { $0 } }
}
