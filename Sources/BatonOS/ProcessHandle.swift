import CShims
import Glibc

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
/// The pidfd is closed by `close()` or on deinit.
public final class ProcessHandle: @unchecked Sendable {
    // @unchecked: `pidfd` is written only by close(), which callers make the last use.
    public let pid: pid_t
    public private(set) var pidfd: Int32

    public init(pid: pid_t, pidfd: Int32) {
        self.pid = pid
        self.pidfd = pidfd
    }

    deinit { close() }

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

    public func close() {
        if pidfd >= 0 {
            Glibc.close(pidfd)
            pidfd = -1
        }
    }

    public func signal(_ signal: Int32) throws(OSError) {
        let fd = pidfd
        do {
            try sys("pidfd_send_signal(\(pid), \(signal))") { bt_pidfd_send_signal(fd, signal) }
        } catch where error.errno == ESRCH {
            // Already gone (a zombie waiting to be reaped): nothing left to signal.
        }
    }

    /// Waits up to `timeout` seconds (nil: forever) for the process to exit; true once it has.
    /// Works for any process a pidfd was opened for, child or not; a child is not reaped.
    public func waitForExit(timeout: Double?) -> Bool {
        // A closed handle belongs to a process already waited for.
        guard pidfd >= 0 else { return true }
        var fds = [pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)]
        let deadline = timeout.map { SignalWait.monotonicNow() + $0 }
        while true {
            var milliseconds: Int32 = -1
            if let deadline {
                let left = deadline - SignalWait.monotonicNow()
                if left <= 0 { return false }
                milliseconds = Int32(min(left * 1000 + 1, Double(Int32.max)))
            }
            let ready = Glibc.poll(&fds, 1, milliseconds)
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
        var code: Int32 = 0
        var signal: Int32 = 0
        let fd = pidfd
        let rc = try sys("waitid(pidfd \(pid))") { bt_pidfd_wait(fd, &code, &signal, nohang ? 1 : 0) }
        if rc == 1 { return nil }
        return signal != 0 ? .signaled(signal) : .exited(code)
    }
}
