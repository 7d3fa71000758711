import BatonOS
import BatonProxy
import Foundation
import Glibc
import Testing

/// A client that opens connection after connection (one request each, `Connection: close`)
/// must not make the proxy keep anything per connection once it has closed: before this was
/// fixed every client connection left about 4 KiB behind forever (its handler, pipeline and
/// last read buffer, held by a reference cycle), and a loop of short connections took the
/// daemon to the OOM killer.
@Suite(.serialized) struct ConnectionMemoryTests {
    @Test(.timeLimit(.minutes(10)))
    func twentyThousandShortConnectionsLeaveNoMemoryBehind() async throws {
        try await ProxyFixture.with(backendRecording: false) { fixture in
            // Warm-up: pools, malloc arenas of every thread and the kernel's socket caches reach
            // their working size, so what is measured next is what the connections leave.
            try await Self.churn(port: fixture.port, connections: 2_000)
            let before = residentBytes()
            try await Self.churn(port: fixture.port, connections: 20_000)
            // Before the fix these 20k connections grew the RSS by 96 MB; now by less than 1 MB.
            // The RSS is the whole test process's: scripts/test runs this suite alone (304 KiB
            // grown here; among the TLS and HTTP/2 suites once 20 MB, their memory, not ours).
            // The bound, a sixth of the leak, leaves room for allocator slack; it is waited for,
            // so a transient peak does not fail the test.
            let bound = 16 << 20
            let grown = try await Self.growthSettles(since: before, below: bound, within: .seconds(15))
            #expect(grown < bound, "RSS grew \(grown >> 10) KiB over 20000 closed connections")
            #expect(fixture.backend.log.count == 22_000)
        }
    }

    /// A client that uploads a large body and then keeps its connection open must not leave
    /// the proxy holding a receive buffer for every read of it: NIO keeps up to
    /// `maxMessagesPerRead` (8) buffers per connection for good, and after a 1 MiB upload each
    /// idle connection held eight 64 KiB buffers, 517 KiB. The decoder trims them to one once
    /// the connection has been idle a second. Measured as the heap in use (the proxy runs in
    /// this process), which, unlike the RSS, falls when buffers are freed.
    @Test(.timeLimit(.minutes(5)))
    func idleConnectionsAfterUploadsKeepOneReceiveBuffer() async throws {
        try await ProxyFixture.with(backendRecording: false) { fixture in
            let port = fixture.port
            let (grown, allOpen) = try await offThePool { () throws -> (Int, Bool) in
                let connections = 32
                let body = [UInt8](repeating: UInt8(ascii: "u"), count: 1 << 20)
                let before = ProcessHeap.bytesInUse
                let clients = try (0..<connections).map { _ in
                    let client = try RawClient(port: port, timeout: 30)
                    try client.send("POST /upload HTTP/1.1\r\nHost: app.test\r\nContent-Length: \(body.count)\r\n\r\n")
                    try client.send(body)
                    let response = try client.readResponse()
                    guard response.status == 200 else { throw TestFailure("upload got \(response.status)") }
                    return client
                }
                // One 64 KiB buffer per connection may stay, with room for the connection
                // itself; the eight of the bug are 16 MiB over these 32.
                let bound = connections * (160 << 10)
                let deadline = ContinuousClock.now + .seconds(30)
                var grown = ProcessHeap.bytesInUse - before
                while grown >= bound, ContinuousClock.now < deadline {
                    usleep(200_000)
                    grown = ProcessHeap.bytesInUse - before
                }
                return (grown, clients.allSatisfy { $0.isOpenNow() })
            }
            #expect(grown < 32 * (160 << 10), "heap in use grew \(grown >> 10) KiB with 32 idle connections after 1 MiB uploads")
            #expect(allOpen)
        }
    }

    /// Opens `connections` connections from 8 threads; each sends one request with
    /// `Connection: close` and reads the answer to the end.
    static func churn(port: Int, connections: Int) async throws {
        let threads = 8
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<threads {
                group.addTask {
                    try await offThePool {
                        for _ in 0..<(connections / threads) {
                            let client = try RawClient(port: port, timeout: 10)
                            try client.send("GET /churn HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")
                            let response = try client.readResponse()
                            guard response.status == 200, client.isClosed() else {
                                throw TestFailure("short connection got \(response.status)")
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// Polls the RSS until it is less than `bound` above `before` or `limit` passes; returns
    /// the last growth seen.
    static func growthSettles(since before: Int, below bound: Int, within limit: Duration) async throws -> Int {
        let deadline = ContinuousClock.now + limit
        var grown = residentBytes() - before
        while grown >= bound, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            grown = residentBytes() - before
        }
        return grown
    }
}
