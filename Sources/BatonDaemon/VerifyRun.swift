import BatonControl
import BatonDeploy
import BatonProxy
import Foundation
import Synchronization

/// One `--verify` across one swap: follows the swap's progress events to start the load
/// (at `began` when blue serves, else at the flip: before it, the app only answers 503), to
/// mark the flip and blue's stop, and to learn which target green is; `finish` stops
/// the load (no sooner than `tail` after the flip, so "after" has requests too) and builds
/// the report.
final class VerifyRun: Sendable {
    /// The load runs at least this long after the flip.
    static let tail: Duration = .seconds(1)

    private struct State {
        var load: VerifyLoad?
        var startedAt = ""
        var flip: ContinuousClock.Instant?
        var blueStopped: ContinuousClock.Instant?
        /// A bake window's flip back to blue; the `stopped` after it is green's, not blue's.
        var flipBack: ContinuousClock.Instant?
        var deployment: Int64?
        var versions: [String: VerifyVersion] = [:]
    }

    private let state = Mutex(State())
    private let makeLoad: @Sendable () -> VerifyLoad
    private let greenPort: Int
    private let startsAtBegin: Bool
    private let path: String
    private let rate: Int
    private let groupOf: @Sendable (String) -> [SandboxHandle]

    /// `blue`: the sandbox serving now (with its replicas) and the port its targets use;
    /// `greenPort`: the port green's targets use; `groupOf`: the running members of the group a
    /// sandbox leads (itself alone without replicas), so each replica's answers are attributed.
    init(blue: (handle: SandboxHandle, port: Int)?, greenPort: Int, path: String, rate: Int,
         groupOf: @escaping @Sendable (String) -> [SandboxHandle], makeLoad: @escaping @Sendable () -> VerifyLoad) {
        self.groupOf = groupOf
        self.makeLoad = makeLoad
        self.greenPort = greenPort
        self.startsAtBegin = blue != nil
        self.path = path
        self.rate = rate
        if let blue {
            for member in blue.handle.members {
                let label = VerifyProbe.label(.sandbox(member.network, port: blue.port))
                state.withLock { $0.versions[label] = VerifyVersion(role: "blue", sandbox: member.id, digest: member.digest) }
            }
        }
    }

    /// The deployment the swap recorded, once it began.
    var deployment: Int64? { state.withLock { $0.deployment } }

    /// The swap's progress callback: quick, on the coordinator's executor.
    func observe(_ event: DeployEvent) {
        switch event {
        case .began(let deployment, _, _):
            state.withLock { $0.deployment = deployment }
            if startsAtBegin { startLoad() }
        case .completed(let phase):
            switch phase.phase {
            case .started:
                for green in phase.detail.map(groupOf) ?? [] {
                    let label = VerifyProbe.label(.sandbox(green.network, port: greenPort))
                    state.withLock { $0.versions[label] = VerifyVersion(role: "green", sandbox: green.id, digest: green.digest) }
                }
            case .routed:
                // With no blue the load starts here, just after the flip is marked: before it the
                // app answers only 503.
                state.withLock { $0.flip = .now }
                if !startsAtBegin { startLoad() }
            case .reverted:
                state.withLock { $0.flipBack = .now }
            case .stopped:
                state.withLock { state in
                    if state.flipBack == nil { state.blueStopped = .now }
                }
            default:
                break
            }
        case .healthChecked, .finished:
            break
        }
    }

    private func startLoad() {
        let started: VerifyLoad? = state.withLock { state in
            guard state.load == nil else { return nil }
            let load = makeLoad()
            state.load = load
            state.startedAt = Timestamp.now()
            return load
        }
        started?.start()
    }

    /// Ends the load (after the tail past the flip) and reports; nil when it never started
    /// (the swap failed before green was healthy with no blue to load).
    func finish() async -> VerifyReport? {
        // The tail follows the last move of traffic: the flip, or a bake window's flip back.
        let lastMove = state.withLock { $0.flipBack ?? $0.flip }
        if let lastMove {
            let wait = ContinuousClock.now.duration(to: lastMove + Self.tail)
            if wait > .zero { try? await Task.sleep(for: wait) }
        }
        guard let load = state.withLock({ $0.load }) else { return nil }
        let (samples, stoppedAt) = await load.stop()
        let snapshot = state.withLock { $0 }
        var builder = VerifyReportBuilder(
            path: path, rate: rate, startedAt: snapshot.startedAt, flipAt: snapshot.flip.map { max(.zero, $0 - load.origin) },
            blueStoppedAt: snapshot.blueStopped.map { $0 - load.origin }, endedAt: stoppedAt, versions: snapshot.versions)
        builder.flipBackAt = snapshot.flipBack.map { $0 - load.origin }
        return builder.build(samples)
    }
}
