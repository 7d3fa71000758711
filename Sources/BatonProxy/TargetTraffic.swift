import NIOCore
import Synchronization

/// A target's answered requests of the last minute, per second: how many, how many were 5xx,
/// and a latency histogram. A bake window compares green's figures with blue's from these.
///
/// Cheap on the request path: one uncontended lock, a few additions, no allocation. A second's
/// slot is reused 64 seconds later, so figures older than a minute are gone.
final class TargetTraffic: Sendable {
    static let slots = 64
    private let seconds = Mutex<[TrafficSecond]>(Array(repeating: TrafficSecond(), count: TargetTraffic.slots))

    /// Counts one response: its status and the time from the request's head to its end.
    func record(status: UInt, elapsedNanoseconds: Int64, now: NIODeadline = .now()) {
        let second = Self.second(now)
        let bucket = LatencyBuckets.index(nanoseconds: elapsedNanoseconds)
        seconds.withLock { slots in
            let slot = Int(second % Int64(Self.slots))
            if slots[slot].second != second { slots[slot].reset(second: second) }
            slots[slot].responses += 1
            if status >= 500 && status <= 599 { slots[slot].serverErrors += 1 }
            slots[slot].latency[bucket] += 1
        }
    }

    /// The figures of the last `count` seconds, the current one included (1...60).
    func summary(lastSeconds count: Int, now: NIODeadline = .now()) -> TrafficSummary {
        let current = Self.second(now)
        let first = current - Int64(max(1, min(count, 60))) + 1
        return seconds.withLock { slots in
            var summary = TrafficSummary()
            for slot in slots where slot.second >= first && slot.second <= current {
                summary.responses += Int(slot.responses)
                summary.serverErrors += Int(slot.serverErrors)
                for index in 0..<LatencyBuckets.count { summary.latency[index] += slot.latency[index] }
            }
            return summary
        }
    }

    /// Whole seconds of the monotonic clock.
    static func second(_ deadline: NIODeadline) -> Int64 {
        Int64(deadline.uptimeNanoseconds / 1_000_000_000)
    }
}

/// One second of a target's responses.
struct TrafficSecond {
    /// The monotonic second these figures belong to; -1: never used.
    var second: Int64 = -1
    var responses: UInt32 = 0
    var serverErrors: UInt32 = 0
    var latency = [UInt32](repeating: 0, count: LatencyBuckets.count)

    mutating func reset(second: Int64) {
        self.second = second
        responses = 0
        serverErrors = 0
        for index in 0..<latency.count { latency[index] = 0 }
    }
}

/// A target's responses over some seconds, as the daemon reads them.
public struct TrafficSummary: Sendable, Equatable {
    public var responses = 0
    public var serverErrors = 0
    /// Counts per latency bucket (`LatencyBuckets`).
    var latency = [UInt32](repeating: 0, count: LatencyBuckets.count)

    public init() {}

    /// The 99th percentile of latency, as the upper bound of its histogram bucket (within a
    /// quarter octave); nil with no responses.
    public var p99: Duration? {
        guard responses > 0 else { return nil }
        let total = latency.reduce(0) { $0 + Int($1) }
        guard total > 0 else { return nil }
        // The smallest bucket by which 99% of the responses are counted.
        let wanted = (total * 99 + 99) / 100
        var seen = 0
        for (index, count) in latency.enumerated() {
            seen += Int(count)
            if seen >= wanted { return .nanoseconds(LatencyBuckets.upperBound(index)) }
        }
        return .nanoseconds(LatencyBuckets.upperBound(LatencyBuckets.count - 1))
    }
}

/// Latency buckets a quarter octave wide, from 1 µs up to about 17 s (the last one holds
/// everything slower): the bucket is found with a count of leading zeros, no logarithm.
enum LatencyBuckets {
    static let count = 96

    /// The bucket of a latency: 4 per power of two of microseconds.
    static func index(nanoseconds: Int64) -> Int {
        let micros = UInt64(max(1, nanoseconds / 1000))
        let octave = 63 - micros.leadingZeroBitCount
        // The two bits after the leading one say which quarter of the octave.
        let quarter = octave >= 2 ? Int((micros >> UInt64(octave - 2)) & 3) : Int((micros << UInt64(2 - octave)) & 3)
        return min(count - 1, octave * 4 + quarter)
    }

    /// The largest latency in bucket `index`, in nanoseconds.
    static func upperBound(_ index: Int) -> Int64 {
        let octave = index / 4
        let quarter = Int64(index % 4)
        let base = Int64(1) << Int64(octave)
        // Bucket (octave, q) holds [base * (4 + q) / 4, base * (5 + q) / 4).
        return max(1, base * (5 + quarter) / 4) * 1000
    }
}

extension TargetTraffic {
    /// Counts a response the proxy finished, timed from its request's head. An upgrade (101)
    /// is a tunnel, not a response: its lifetime is no latency.
    func record(status: UInt, since startedAt: NIODeadline) {
        guard status >= 200 else { return }
        let now = NIODeadline.now()
        record(status: status, elapsedNanoseconds: (now - startedAt).nanoseconds, now: now)
    }
}

extension TrafficSummary {
    /// Adds `other`'s responses and latencies: the replicas of one group judged as one.
    public mutating func add(_ other: TrafficSummary) {
        responses += other.responses
        serverErrors += other.serverErrors
        for bucket in latency.indices { latency[bucket] += other.latency[bucket] }
    }
}
