@testable import BatonDeploy
import BatonOS
import Synchronization

/// A request holder that records which apps are held, and can be told to refuse a hold.
final class FakeHolder: RequestHolder {
    private let held = Mutex<Set<String>>([])
    private let refuse = Mutex(false)
    private let log: CallLog

    init(log: CallLog) { self.log = log }

    func refuseEveryHold() { refuse.withLock { $0 = true } }

    var holding: Set<String> { held.withLock { $0 } }

    func hold(app: String, timeout: Duration) async throws {
        log.append("hold \(app) \(timeout)")
        if refuse.withLock({ $0 }) { throw BatonError(.internal, "the proxy is gone") }
        _ = held.withLock { $0.insert(app) }
    }

    func release(app: String) async {
        log.append("release \(app)")
        _ = held.withLock { $0.remove(app) }
    }
}
