import CShims
import Glibc
import Synchronization

/// How a process ended.
public enum ProcessExit: Equatable, Sendable {
    case exited(Int32)
    case signaled(Int32)

    /// The shell's convention: the exit code, or 128+N for signal N.
    public var shellStatus: Int32 {
        switch self {
        case .exited(let code): return code
        case .signaled(let signal): return 128 + signal
        }
    }
}

/// A child process held by a pidfd, so signals and waits can never reach a recycled pid.
///
/// The pidfd has one owner, this handle, and is closed once: by the last user out after
/// `close()`, or on deinit. A thread blocked in `waitForExit` keeps using it, so `close()` only
/// marks the handle closed and wakes such waiters; the descriptor is closed when the last of
/// them has returned, never under one (its number could be reused by an unrelated file).
public final class ProcessHandle: Sendable {
    public let pid: pid_t

    private struct State {
        var pidfd: Int32
        /// Calls using `pidfd` now.
        var users = 0
        var closeRequested = false
        /// A socket pair made for the first waiter: `close()` writes to [1], which makes [0]
        /// readable in every waiter's poll. Nobody reads it, so it stays readable.
        var wake: (Int32, Int32)?
    }

    private let state: Mutex<State>

    public init(pid: pid_t, pidfd: Int32) {
        self.pid = pid
        state = Mutex(State(pidfd: pidfd))
    }

    deinit {
        // Every user holds a reference, so none is left: close what is open.
        state.withLock { Self.closeDescriptors(&$0) }
    }

    /// A handle on a running process that need not be our child (a sandbox init adopted after
    /// a restart, or one to exec into). Signals reach it; only a parent can wait for it.
    public static func attach(to identity: ProcessIdentity) throws(OSError) -> ProcessHandle {
        let fd = try sys("pidfd_open(\(identity.pid))") { bt_pidfd_open(identity.pid) }
        // Checked after opening: the pidfd now pins this very process, so a pid reused
        // between the check and the open cannot slip through.
        guard ProcessIdentity.of(pid: identity.pid) == identity else {
            Glibc.close(fd)
            throw OSError("pidfd_open(\(identity.pid)): a different process now has this pid", errno: ESRCH)
        }
        return ProcessHandle(pid: identity.pid, pidfd: fd)
    }

    /// Lets go of the process: no call uses the pidfd after this, and waiters return. The
    /// descriptor itself is closed by the last call still using it.
    public func close() {
        state.withLock { state in
            state.closeRequested = true
            if state.users == 0 {
                Self.closeDescriptors(&state)
            } else if let wake = state.wake {
                var byte: UInt8 = 1
                _ = Glibc.write(wake.1, &byte, 1)
            }
        }
    }

    /// Runs `body` with the pidfd, which stays open until `body` returns; nil once the handle
    /// is closed.
    public func withPidFD<T, E: Error>(_ body: (Int32) throws(E) -> T) throws(E) -> T? {
        guard let fd = borrow() else { return nil }
        defer { giveBack() }
        return try body(fd)
    }

    /// Whether the process still runs: false once it has exited (a zombie not yet reaped
    /// included) or the handle is closed.
    public var isRunning: Bool {
        withPidFD { fd in
            var poll = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            return Glibc.poll(&poll, 1, 0) == 0
        } ?? false
    }

    public func signal(_ signal: Int32) throws(OSError) {
        guard let fd = borrow() else { throw OSError("pidfd_send_signal(\(pid), \(signal))", errno: EBADF) }
        defer { giveBack() }
        do {
            try sys("pidfd_send_signal(\(pid), \(signal))") { bt_pidfd_send_signal(fd, signal) }
        } catch where error.errno == ESRCH {
            // Already gone (a zombie waiting to be reaped): nothing left to signal.
        }
    }

    /// Waits up to `timeout` seconds (nil: forever) for the process to exit; true once it has,
    /// or once the handle is closed (by then it belongs to someone done with it). Works for any
    /// process a pidfd was opened for, child or not; a child is not reaped.
    public func waitForExit(timeout: Double?) -> Bool {
        guard let (fd, wake) = borrowForWaiting() else { return true }
        defer { giveBack() }
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
        let deadline = timeout.map { SignalWait.monotonicNow() + $0 }
        while true {
            var milliseconds: Int32 = -1
            if let deadline {
                let left = deadline - SignalWait.monotonicNow()
                if left <= 0 { return false }
                milliseconds = Int32(min(left * 1000 + 1, Double(Int32.max)))
            }
            let ready = Glibc.poll(&fds, 2, milliseconds)
            if ready > 0 { return true }
            if ready < 0 && errno != EINTR { return true }
        }
    }

    /// Blocks until the process exits and reaps it.
    public func wait() throws(OSError) -> ProcessExit {
        try waitImpl(nohang: false)!
    }

    /// Reaps the process if it has exited; nil while it runs.
    public func poll() throws(OSError) -> ProcessExit? {
        try waitImpl(nohang: true)
    }

    private func waitImpl(nohang: Bool) throws(OSError) -> ProcessExit? {
        guard let fd = borrow() else { throw OSError("waitid(pidfd \(pid))", errno: EBADF) }
        defer { giveBack() }
        var code: Int32 = 0
        var signal: Int32 = 0
        let rc = try sys("waitid(pidfd \(pid))") { bt_pidfd_wait(fd, &code, &signal, nohang ? 1 : 0) }
        if rc == 1 { return nil }
        return signal != 0 ? .signaled(signal) : .exited(code)
    }

    private func borrow() -> Int32? {
        state.withLock { state in
            guard !state.closeRequested, state.pidfd >= 0 else { return nil }
            state.users += 1
            return state.pidfd
        }
    }

    /// The pidfd and the waiters' wake-up descriptor (made by the first waiter).
    private func borrowForWaiting() -> (Int32, Int32)? {
        state.withLock { state in
            guard !state.closeRequested, state.pidfd >= 0 else { return nil }
            if state.wake == nil {
                var pair: [Int32] = [-1, -1]
                // Without it a waiter could not be woken by close(); it still sees the exit.
                if socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 {
                    state.wake = (pair[0], pair[1])
                }
            }
            state.users += 1
            return (state.pidfd, state.wake?.0 ?? -1)
        }
    }

    private func giveBack() {
        state.withLock { state in
            state.users -= 1
            if state.users == 0 && state.closeRequested { Self.closeDescriptors(&state) }
        }
    }

    private static func closeDescriptors(_ state: inout State) {
        if state.pidfd >= 0 {
            Glibc.close(state.pidfd)
            state.pidfd = -1
        }
        if let wake = state.wake {
            Glibc.close(wake.0)
            Glibc.close(wake.1)
            state.wake = nil
        }
    }
}
