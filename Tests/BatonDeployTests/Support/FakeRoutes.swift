@testable import BatonDeploy
import BatonOS
import Synchronization

/// A route table of one sandbox per app.
final class FakeRoutes: RouteInstaller {
    private let routes = Mutex<[String: SandboxHandle]>([:])
    private let failInstalls = Mutex(false)
    private let log: CallLog

    init(log: CallLog) { self.log = log }

    func set(_ app: String, to sandbox: SandboxHandle) { routes.withLock { $0[app] = sandbox } }

    func current(_ app: String) -> SandboxHandle? { routes.withLock { $0[app] } }

    func failEveryInstall() { failInstalls.withLock { $0 = true } }

    func serving(app: String) async throws -> SandboxHandle? { current(app) }

    func install(app: String, sandbox: SandboxHandle) async throws {
        log.append("route \(app) \(sandbox.id)")
        if failInstalls.withLock({ $0 }) { throw BatonError(.internal, "route table is read-only") }
        set(app, to: sandbox)
    }
}

/// A drainer that answers at once, takes virtual time, or never finishes until cancelled.
struct FakeDrainer: TrafficDrainer {
    enum Behavior: Sendable {
        case drained
        case takes(Duration, clock: ManualClock)
        case neverFinishes
    }

    let behavior: Behavior
    let log: CallLog

    func drain(_ sandbox: SandboxHandle, timeout: Duration) async -> Bool {
        log.append("drain \(sandbox.id)")
        switch behavior {
        case .drained:
            return true
        case .takes(let duration, let clock):
            clock.advance(by: duration)
            return true
        case .neverFinishes:
            while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(5)) }
            return false
        }
    }
}
