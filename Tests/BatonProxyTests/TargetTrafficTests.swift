@testable import BatonProxy
import NIOCore
import Testing

/// The per-second figures a bake window reads: counted per second, forgotten after a minute.
@Suite struct TargetTrafficTests {
    static func at(_ seconds: Double) -> NIODeadline { .uptimeNanoseconds(UInt64(seconds * 1e9)) }

    @Test func countsResponsesAndServerErrorsOfTheSecondsAskedFor() {
        let traffic = TargetTraffic()
        for index in 0..<100 {
            traffic.record(status: index < 3 ? 503 : 200, elapsedNanoseconds: 2_000_000, now: Self.at(1000.5))
        }
        traffic.record(status: 500, elapsedNanoseconds: 2_000_000, now: Self.at(1001.2))
        traffic.record(status: 404, elapsedNanoseconds: 2_000_000, now: Self.at(1001.3))

        let last = traffic.summary(lastSeconds: 1, now: Self.at(1001.9))
        #expect(last.responses == 2 && last.serverErrors == 1)
        let both = traffic.summary(lastSeconds: 2, now: Self.at(1001.9))
        #expect(both.responses == 102 && both.serverErrors == 4)
        // A minute and more later the slots have been forgotten or reused.
        #expect(traffic.summary(lastSeconds: 60, now: Self.at(1070)).responses == 0)
        // Second 1064 reuses second 1000's slot: its 100 responses are not counted again.
        traffic.record(status: 200, elapsedNanoseconds: 1_000_000, now: Self.at(1064.1))
        #expect(traffic.summary(lastSeconds: 60, now: Self.at(1064.5)).responses == 1)
        #expect(traffic.summary(lastSeconds: 60, now: Self.at(1060.5)).responses == 2)
    }

    @Test func p99IsTheBucketHoldingThe99thPercentile() throws {
        let traffic = TargetTraffic()
        for index in 0..<1000 {
            // 990 answers of 1 ms, 10 of 100 ms: p99 is 1 ms (within a quarter octave); 20 slow: 100 ms.
            traffic.record(status: 200, elapsedNanoseconds: index < 990 ? 1_000_000 : 100_000_000, now: Self.at(50))
        }
        let p99 = try #require(traffic.summary(lastSeconds: 1, now: Self.at(50)).p99)
        #expect(p99 >= .milliseconds(1) && p99 <= .microseconds(1250))
        for _ in 0..<10 { traffic.record(status: 200, elapsedNanoseconds: 100_000_000, now: Self.at(50)) }
        let slow = try #require(traffic.summary(lastSeconds: 1, now: Self.at(50)).p99)
        #expect(slow >= .milliseconds(100) && slow <= .milliseconds(125))
        #expect(TargetTraffic().summary(lastSeconds: 10).p99 == nil)
    }

    @Test func bucketsAreOrderedAndCoverEachLatency() {
        var previous = -1
        for micros in [1, 2, 3, 5, 8, 100, 1000, 1001, 65_000, 1_000_000, 60_000_000] as [Int64] {
            let index = LatencyBuckets.index(nanoseconds: micros * 1000)
            #expect(index >= previous)
            #expect(LatencyBuckets.upperBound(index) >= micros * 1000 || index == LatencyBuckets.count - 1)
            previous = index
        }
    }
}
