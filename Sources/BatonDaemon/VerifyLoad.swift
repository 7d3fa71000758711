import BatonOS
import BatonProxy
import Glibc
import Synchronization

/// The synthetic load of `baton deploy --verify`: requests at a fixed rate (open loop: request
/// i is due at i/rate seconds, whatever the earlier ones took) on a few keep-alive connections
/// through the daemon's own proxy listener, each carrying the proxy's verify token so its
/// response names the target that answered. Bounded: the rate (`VerifyReport.maxRate`), the
/// workers, each exchange's deadline and the samples kept.
final class VerifyLoad: Sendable {
    /// One request: when it was due and sent (since the run's origin), how long its response
    /// took, and what came back.
    struct Sample: Sendable {
        let sentAt: Duration
        let latency: Duration
        let status: Int?
        let target: String?
        let failure: String?
    }

    static let exchangeTimeout: Duration = .seconds(5)
    /// At most this many samples are kept (a deploy verified at the highest rate for 10 minutes).
    static let maxSamples = VerifyReportBuilder.maxSeconds * 2000

    let origin: ContinuousClock.Instant
    private let request: [UInt8]
    private let endpoint: VerifyConnection.Endpoint
    private let interval: Duration
    private let workers: Int
    private let next = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let running = Atomic<Int>(0)
    private let samples = Mutex<[Sample]>([])

    init(endpoint: VerifyConnection.Endpoint, host: String, path: String, rate: Int, token: String) {
        self.endpoint = endpoint
        request = Array("GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: baton-verify\r\n\(VerifyProbe.tokenHeader): \(token)\r\n\r\n".utf8)
        interval = .seconds(1) / rate
        // Enough connections that a few slow responses (a dropped SYN costs the app's clients a
        // second) do not hold the schedule back: one per 10 requests/s, 4 to 32.
        workers = min(32, max(4, rate / 10))
        origin = .now
    }

    /// Starts the workers; each runs until `stop`.
    func start() {
        for _ in 0..<workers {
            running.add(1, ordering: .relaxed)
            if !DetachedThread.start({ [self] in work() }) { running.subtract(1, ordering: .relaxed) }
        }
    }

    /// Stops sending and waits for the requests in flight (each bounded by its deadline);
    /// returns every sample, in the order they were sent, and when sending stopped (since the
    /// origin): the run's length, which a slow last response does not stretch.
    func stop() async -> (samples: [Sample], stoppedAt: Duration) {
        let stoppedAt = ContinuousClock.now - origin
        stopping.store(true, ordering: .relaxed)
        while running.load(ordering: .relaxed) > 0 {
            try? await Task.sleep(for: .milliseconds(5))
        }
        return (samples.withLock { $0 }.sorted { $0.sentAt < $1.sentAt }, stoppedAt)
    }

    private func work() {
        defer { running.subtract(1, ordering: .relaxed) }
        let connection = VerifyConnection(endpoint: endpoint)
        while !stopping.load(ordering: .relaxed) {
            let index = next.add(1, ordering: .relaxed).newValue - 1
            let due = origin + interval * index
            // Sleep in short steps so `stop` is seen quickly.
            while ContinuousClock.now < due, !stopping.load(ordering: .relaxed) {
                let left = ContinuousClock.now.duration(to: due)
                sleepFor(min(left, .milliseconds(20)))
            }
            if stopping.load(ordering: .relaxed) { return }
            let sent = ContinuousClock.now
            let outcome = connection.exchange(request, timeout: Self.exchangeTimeout)
            let latency = ContinuousClock.now - sent
            let sample: Sample
            switch outcome {
            case .responded(let status, let target):
                sample = Sample(sentAt: sent - origin, latency: latency, status: status, target: target, failure: nil)
            case .failed(let why):
                sample = Sample(sentAt: sent - origin, latency: latency, status: nil, target: nil, failure: why)
            }
            samples.withLock { if $0.count < Self.maxSamples { $0.append(sample) } }
        }
    }

    private func sleepFor(_ duration: Duration) {
        let parts = duration.components
        var wanted = timespec(tv_sec: Int(parts.seconds), tv_nsec: Int(parts.attoseconds / 1_000_000_000))
        var left = timespec()
        while nanosleep(&wanted, &left) == -1 && errno == EINTR { wanted = left }
    }
}
