import CShims
import Glibc

/// Waits for a child to exit while forwarding chosen signals to it, with an optional deadline.
/// The signals must already be blocked in every thread (`blockSignals` early in main), so they
/// arrive on the signalfd instead of killing the caller.
public enum SignalWait {
    public enum Outcome: Equatable, Sendable {
        case exited(ProcessExit)
        case timedOut
    }

    /// Blocks `signals` in the calling thread; threads created afterwards inherit the mask.
    public static func blockSignals(_ signals: [Int32]) throws(OSError) {
        try sys("pthread_sigmask") { bt_block_signals(signals, Int32(signals.count), 1) }
    }

    /// Waits for `process` to exit, forwarding `signals` to it and, with a `relay`, copying its
    /// stdio meanwhile; the relay is finished (output drained, pipes closed) before returning.
    public static func wait(
        for process: ProcessHandle, forwarding signals: [Int32], timeout seconds: Double?, relay: StdioRelay? = nil
    ) throws(OSError) -> Outcome {
        let outcome = try process.withPidFD { pidfd throws(OSError) in
            try wait(pidfd: pidfd, for: process, forwarding: signals, timeout: seconds, relay: relay)
        }
        guard let outcome else { throw OSError("poll pidfd \(process.pid)", errno: EBADF) }
        return outcome
    }

    private static func wait(
        pidfd: Int32, for process: ProcessHandle, forwarding signals: [Int32], timeout seconds: Double?, relay: StdioRelay?
    ) throws(OSError) -> Outcome {
        let signalFD = try sys("signalfd") { bt_signalfd(signals, Int32(signals.count)) }
        defer { close(signalFD) }
        let deadline = seconds.map { monotonicNow() + $0 }
        while true {
            var fds = [
                pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0),
                pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0),
            ] + (relay?.pollRequests() ?? [])
            var timeoutMS: Int32 = -1
            if let deadline {
                let left = deadline - monotonicNow()
                if left <= 0 { return .timedOut }
                timeoutMS = Int32(min(left * 1000 + 1, Double(Int32.max)))
            }
            let ready = Glibc.poll(&fds, nfds_t(fds.count), timeoutMS)
            if ready < 0 {
                if errno == EINTR { continue }
                throw OSError("poll", errno: errno)
            }
            if fds[1].revents & Int16(POLLIN) != 0 {
                while case let signal = bt_signalfd_next(signalFD), signal > 0 {
                    relay?.signalArrived(signal)
                    try process.signal(signal)
                }
            }
            relay?.service(Array(fds.dropFirst(2)))
            if fds[0].revents != 0 {
                relay?.finish()
                return .exited(try process.wait())
            }
        }
    }

    static func monotonicNow() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
