import BatonOS

/// Where one sandbox is in a swap. Transitions are checked, in release builds too: a state
/// machine, not flags.
public enum SwapSandboxState: String, Sendable, Equatable {
    /// Green is being started.
    case starting
    /// Green runs and is being health-checked.
    case checking
    /// Green answered the expected status; not yet routed.
    case healthy
    /// The app's route points here.
    case serving
    /// No longer routed; in-flight requests are finishing.
    case draining
    /// Bake (part 3): blue after the flip, running with no new traffic, ready to be routed again.
    case baking
    /// Green failed to start or to become healthy.
    case failed
    /// Stopped and removed.
    case stopped

    /// Whether a sandbox in this state may move to `next`.
    public func canMove(to next: SwapSandboxState) -> Bool {
        switch (self, next) {
        case (.starting, .checking), (.starting, .failed),
             (.checking, .healthy), (.checking, .failed),
             (.healthy, .serving), (.healthy, .failed),
             (.serving, .draining),
             (.serving, .baking), (.baking, .draining), (.baking, .serving),
             (.draining, .stopped),
             (.failed, .stopped):
            return true
        default:
            return false
        }
    }
}

/// A swap under way, for `baton ps` and the daemon's status.
public struct SwapStatus: Sendable, Equatable {
    public let app: String
    /// The digest being deployed; nil while a rollback is still choosing it.
    public internal(set) var toDigest: String?
    public internal(set) var deployment: Int64?
    public internal(set) var green: SandboxHandle?
    public internal(set) var greenState: SwapSandboxState = .starting
    /// The sandbox serving when the swap began, if any.
    public internal(set) var blue: SandboxHandle?
    public internal(set) var blueState: SwapSandboxState?
    public internal(set) var lastPhase: DeployPhase?

    init(app: String) {
        self.app = app
    }

    /// Moves green to `next`; an illegal move changes nothing and throws (`.internal`).
    mutating func moveGreen(to next: SwapSandboxState) throws(BatonError) {
        guard greenState.canMove(to: next) else { throw illegalMove("green", from: greenState, to: next) }
        greenState = next
    }

    /// Moves blue to `next`; an illegal move (or a swap without blue) changes nothing and throws.
    mutating func moveBlue(to next: SwapSandboxState) throws(BatonError) {
        guard let blueState, blueState.canMove(to: next) else { throw illegalMove("blue", from: blueState, to: next) }
        self.blueState = next
    }

    private func illegalMove(_ role: String, from: SwapSandboxState?, to next: SwapSandboxState) -> BatonError {
        BatonError(.internal, "the swap of \(app) cannot move \(role) from \(from.map(\.rawValue) ?? "nothing") to \(next.rawValue)")
    }
}
