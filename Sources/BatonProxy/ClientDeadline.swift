import NIOCore

/// What the proxy tells the deadlines of the client it serves as a request goes along: an
/// HTTP/1.x connection's `ClientRequestDecoder`, or an HTTP/2 stream's `StreamDeadline`.
protocol RequestClock: AnyObject {
    /// A complete request head arrived at `time`: its body (if any) is due by the body deadline.
    func requestStarted(at time: NIODeadline)
    /// The whole request was read: no deadline while it is served.
    func requestRead()
    /// The proxy itself held the body back: the client's time starts again from now.
    func restartBodyClock()
    /// The response ended: on a connection that stays open the idle deadline starts.
    func requestFinished()
}

/// The deadlines of an HTTP/1.x client connection: a request head must arrive within the header
/// timeout (slow-header clients), a body at the body timeout plus a minimum rate, and a
/// connection may sit idle between requests for the idle timeout. A value kept by the
/// connection's `ClientRequestDecoder`, which every read passes anyway, so that the deadlines
/// cost no handler (and no pipeline context) of their own.
///
/// Each change returns the deadline to arm, when it may be earlier than the one armed; a
/// deadline that only moves later is found later by `reached`, so the request path mostly
/// arms nothing.
struct ClientDeadline {
    /// Sent down the pipeline when a request body is late; the proxy answers 408 or closes.
    struct BodyTimedOut {}

    /// What a deadline that came means.
    enum Expiry {
        /// Nothing is due: no deadline is set.
        case none
        /// The deadline moved later since it was armed: arm it again.
        case later(NIODeadline)
        /// The request body came too slowly: the proxy decides (408 or close).
        case bodyTimedOut
        /// A head too slow, or idle too long: the connection closes.
        case close
    }

    private enum Phase {
        case readingHead
        /// A request body is being read: `bytes` of it (and of its framing) since `since`.
        case readingBody(since: NIODeadline, bytes: Int)
        case busy
        case idle
    }

    private let headerTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let bodyTimeout: TimeAmount
    private let bodyMinimumRate: Int
    private var phase = Phase.readingHead
    private var deadline: NIODeadline?

    init(configuration: ProxyConfiguration) {
        headerTimeout = configuration.clientHeaderTimeout
        idleTimeout = configuration.idleTimeout
        bodyTimeout = configuration.clientBodyTimeout
        bodyMinimumRate = max(configuration.clientBodyMinimumRate, 1)
    }

    /// The connection is open: its first request head is due.
    mutating func connectionStarted() -> NIODeadline {
        set(.now() + headerTimeout)
    }

    /// `count` bytes arrived. Returns the header deadline when they start a request after an
    /// idle time; a body's deadline only moves later, so nothing is armed for it.
    mutating func read(_ count: Int) -> NIODeadline? {
        switch phase {
        case .idle:
            phase = .readingHead
            return set(.now() + headerTimeout)
        case .readingBody(let since, let bytes):
            phase = .readingBody(since: since, bytes: bytes + count)
            deadline = bodyDeadline(since: since, bytes: bytes + count)
            return nil
        case .readingHead, .busy:
            return nil
        }
    }

    /// A complete request head arrived at `time`: its body (if any) is due by the body deadline.
    mutating func requestStarted(at time: NIODeadline) -> NIODeadline {
        phase = .readingBody(since: time, bytes: 0)
        return set(time + bodyTimeout)
    }

    /// The whole request was read: no deadline while it is served.
    mutating func requestRead() {
        phase = .busy
        deadline = nil
    }

    /// The proxy itself held the body back (its upstream was slow to take it): the client's
    /// time starts again from now.
    mutating func restartBodyClock() -> NIODeadline? {
        guard case .readingBody = phase else { return nil }
        let now = NIODeadline.now()
        phase = .readingBody(since: now, bytes: 0)
        return set(now + bodyTimeout)
    }

    /// The response ended and the connection stays open: the idle deadline starts.
    mutating func requestFinished() -> NIODeadline {
        phase = .idle
        return set(.now() + idleTimeout)
    }

    /// The armed time came: what it means now.
    mutating func reached() -> Expiry {
        guard let deadline else { return .none }
        if NIODeadline.now() < deadline { return .later(deadline) }
        self.deadline = nil
        if case .readingBody = phase { return .bodyTimedOut }
        return .close
    }

    private mutating func set(_ newDeadline: NIODeadline) -> NIODeadline {
        deadline = newDeadline
        return newDeadline
    }

    /// `bodyTimeout` after the head, and one second more for every `bodyMinimumRate` bytes: a
    /// body must come at that rate on average, whatever its size, once the timeout is used up.
    private func bodyDeadline(since: NIODeadline, bytes: Int) -> NIODeadline {
        since + bodyTimeout + .nanoseconds(Int64(bytes) * 1_000_000_000 / Int64(bodyMinimumRate))
    }
}
