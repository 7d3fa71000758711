import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import BatonProxy

/// The event loop's wheel of connection deadlines: a member is called once its deadline has
/// passed, never before; moving or clearing it takes effect; a deadline past the wheel's span
/// still comes. Order and counts are checked, with liveness bounds, never durations.
@Suite struct DeadlineWheelTests {
    final class Probe: DeadlineWheelMember, @unchecked Sendable {
        let name: String
        let record: NIOLockedValueBox<[(name: String, early: Bool)]>
        init(_ name: String, _ record: NIOLockedValueBox<[(name: String, early: Bool)]>) {
            self.name = name
            self.record = record
        }

        override func deadlineReached() {
            let early = NIODeadline.now() < wheelDue
            record.withLockedValue { $0.append((name, early)) }
        }
    }

    /// Runs `body` on a fresh loop's wheel, then waits (up to 60 s) until `expected` members
    /// were called or the loop is quiet.
    private func run(expected: Int, _ body: @escaping @Sendable (DeadlineWheel, NIOLockedValueBox<[(name: String, early: Bool)]>) -> Void)
        async throws -> [(name: String, early: Bool)]
    {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let record = NIOLockedValueBox<[(name: String, early: Bool)]>([])
        do {
            try await loop.submit {
                let wheel = DeadlineWheel(eventLoop: loop)
                body(wheel, record)
            }.get()
            for _ in 0..<600 where record.withLockedValue({ $0.count }) < expected {
                try await Task.sleep(for: .milliseconds(100))
            }
        } catch {
            try await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
        return record.withLockedValue { $0 }
    }

    @Test func membersAreCalledInDeadlineOrderAndNeverEarly() async throws {
        let calls = try await run(expected: 3) { wheel, record in
            let now = NIODeadline.now()
            // Kept alive by the wheel while on it.
            wheel.set(Probe("c", record), at: now + .milliseconds(700))
            wheel.set(Probe("a", record), at: now + .milliseconds(100))
            wheel.set(Probe("b", record), at: now + .milliseconds(400))
        }
        #expect(calls.map(\.name) == ["a", "b", "c"])
        #expect(calls.allSatisfy { !$0.early })
    }

    @Test func aMovedMemberComesAtItsNewTimeAndAClearedOneNever() async throws {
        let calls = try await run(expected: 2) { wheel, record in
            let now = NIODeadline.now()
            let moved = Probe("moved", record)
            wheel.set(moved, at: now + .seconds(20))
            wheel.set(moved, at: now + .milliseconds(200))
            let cleared = Probe("cleared", record)
            wheel.set(cleared, at: now + .milliseconds(100))
            wheel.clear(cleared)
            wheel.set(Probe("last", record), at: now + .milliseconds(600))
        }
        #expect(calls.map(\.name) == ["moved", "last"])
        #expect(calls.allSatisfy { !$0.early })
    }

    /// 256 slots of 100 ms span 25.6 s: a deadline beyond waits in the last slot and is placed
    /// again; it still comes, and not before its time (a shorter one comes first).
    @Test func aDeadlineBeyondTheWheelsSpanStillComes() async throws {
        let calls = try await run(expected: 2) { wheel, record in
            let now = NIODeadline.now()
            wheel.set(Probe("far", record), at: now + .seconds(26))
            wheel.set(Probe("near", record), at: now + .milliseconds(300))
        }
        #expect(calls.map(\.name) == ["near", "far"])
        #expect(calls.allSatisfy { !$0.early })
    }

    @Test func aThousandMembersAreEachCalledOnce() async throws {
        let calls = try await run(expected: 1000) { wheel, record in
            let now = NIODeadline.now()
            for index in 0..<1000 {
                wheel.set(Probe(String(index), record), at: now + .milliseconds(Int64(index % 7) * 100))
            }
        }
        #expect(calls.count == 1000)
        #expect(Set(calls.map(\.name)).count == 1000)
        #expect(calls.allSatisfy { !$0.early })
    }
}
