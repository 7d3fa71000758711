import Glibc

/// A deadline for blocking socket work, and `poll` against it.
public struct SocketDeadline: Sendable {
    public let instant: ContinuousClock.Instant

    public init(after timeout: Duration) {
        instant = .now + timeout
    }

    public init(at instant: ContinuousClock.Instant) {
        self.instant = instant
    }

    public var remaining: Duration { ContinuousClock.now.duration(to: instant) }

    /// Waits until `fd` has one of `events` (POLLIN, POLLOUT); false if the deadline passes.
    public func wait(_ fd: Int32, for events: Int32) throws(OSError) -> Bool {
        while true {
            let left = remaining
            if left <= .zero { return false }
            let parts = left.components
            // Round up so a sub-millisecond remainder still waits rather than spinning.
            let millis = parts.seconds * 1000 + (parts.attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
            var entry = pollfd(fd: fd, events: Int16(events), revents: 0)
            let ready = try sys("poll") { poll(&entry, 1, Int32(clamping: millis)) }
            if ready > 0 { return true }
        }
    }
}
