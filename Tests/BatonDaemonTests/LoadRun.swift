import Foundation
import Synchronization

/// Clients sending GETs back to back until `finish()` (or `limit` seconds), counting what
/// failed and which bodies came back, and timing each request.
final class LoadRun: Sendable {
    /// One request: when it started and how long it took to be answered (or to fail).
    struct Sample: Sendable {
        let start: Date
        let seconds: Double
    }

    private let stop = Atomic(false)
    private let failureCount = Atomic(0)
    private let servedCount = Atomic(0)
    private let seen = Mutex(Set<String>())
    private let timings = Mutex<[Sample]>([])
    private let running = Atomic(0)

    init(port: Int, host: String, clients: Int, limit: TimeInterval) {
        for _ in 0..<clients {
            running.add(1, ordering: .relaxed)
            Thread { [self] in
                let deadline = Date().addingTimeInterval(limit)
                while !stop.load(ordering: .relaxed) && Date() < deadline {
                    let start = Date()
                    let reply = HTTPGet.fetch(port: port, host: host, path: "/")
                    timings.withLock { $0.append(Sample(start: start, seconds: Date().timeIntervalSince(start))) }
                    if let reply, reply.status == 200 {
                        servedCount.add(1, ordering: .relaxed)
                        _ = seen.withLock { $0.insert(reply.body) }
                    } else {
                        failureCount.add(1, ordering: .relaxed)
                    }
                }
                running.subtract(1, ordering: .relaxed)
            }.start()
        }
    }

    /// Stops the clients and waits until each has finished its last request.
    func finish() {
        stop.store(true, ordering: .relaxed)
        while running.load(ordering: .relaxed) > 0 { usleep(10_000) }
    }

    var failures: Int { failureCount.load(ordering: .relaxed) }
    var served: Int { servedCount.load(ordering: .relaxed) }
    var bodies: Set<String> { seen.withLock { $0 } }
    var samples: [Sample] { timings.withLock { $0 } }
}

/// One GET on its own thread, to be in flight while something else happens.
final class SlowRequest: Sendable {
    private let reply = Mutex<(status: Int, body: String)?>(nil)
    private let done = Atomic(false)

    init(port: Int, host: String, path: String) {
        Thread { [self] in
            let result = HTTPGet.fetch(port: port, host: host, path: path)
            reply.withLock { $0 = result }
            done.store(true, ordering: .releasing)
        }.start()
    }

    func wait() -> (status: Int, body: String)? {
        while !done.load(ordering: .acquiring) { usleep(10_000) }
        return reply.withLock { $0 }
    }
}
