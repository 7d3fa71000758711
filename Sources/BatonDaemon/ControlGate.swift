import BatonOS

/// Keeps the control requests that change state (everything but reads) out of a daemon
/// hand-off: the hand-off closes the gate, which waits for those in progress (a deploy with its
/// health checks and drain) and holds new ones. A failed hand-off opens it again and they run
/// here; a successful one answers them "handed over", and the CLI sends them again, to the
/// successor. Nothing ran, so nothing runs twice.
actor ControlGate {
    private var inProgress = 0
    private var closed = false
    private var successor: Int32?
    private var held: [CheckedContinuation<Void, Never>] = []
    private var closing: CheckedContinuation<Void, Never>?

    /// Thrown to a request held while the daemon handed over to `pid`.
    struct HandedOver: Error {
        let pid: Int32
    }

    func enter() async throws(HandedOver) {
        while closed, successor == nil {
            await withCheckedContinuation { held.append($0) }
        }
        if let successor { throw HandedOver(pid: successor) }
        inProgress += 1
    }

    func leave() {
        inProgress -= 1
        if inProgress == 0, let closing {
            self.closing = nil
            closing.resume()
        }
    }

    /// Returns once no state-changing request is in progress; new ones wait from now on.
    func close() async {
        closed = true
        if inProgress > 0 {
            await withCheckedContinuation { closing = $0 }
        }
    }

    /// The hand-off failed: the held requests run here.
    func reopen() {
        closed = false
        releaseHeld()
    }

    /// The hand-off succeeded: every held and later request is told to go to `pid`.
    func handedOver(to pid: Int32) {
        successor = pid
        releaseHeld()
    }

    private func releaseHeld() {
        let waiting = held
        held = []
        for continuation in waiting { continuation.resume() }
    }
}
