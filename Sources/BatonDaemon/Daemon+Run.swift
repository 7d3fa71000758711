import BatonOS
import Dispatch
import Foundation
import Glibc
import NIOCore

extension Daemon {
    /// Runs a daemon in the foreground until SIGTERM or SIGINT, then shuts it down gracefully.
    /// Blocks the calling (synchronous) thread; `onReady` gets the started daemon and the proxy's
    /// bound address.
    public static func runUntilSignalled(options: Options, onReady: @escaping @Sendable (Daemon, SocketAddress) -> Void = { _, _ in }) throws {
        for signal in [SIGTERM, SIGINT] { Glibc.signal(signal, SIG_IGN) }
        let stopRequested = DispatchSemaphore(value: 0)
        let sources = [SIGTERM, SIGINT].map { signal in
            let source = DispatchSource.makeSignalSource(signal: signal, queue: .global())
            source.setEventHandler { stopRequested.signal() }
            source.resume()
            return source
        }
        defer { sources.forEach { $0.cancel() } }

        let outcome = Outcome()
        let finished = DispatchSemaphore(value: 0)
        Task {
            do {
                let daemon = try Daemon(options: options)
                let address = try await daemon.start()
                onReady(daemon, address)
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    DispatchQueue.global().async {
                        stopRequested.wait()
                        continuation.resume()
                    }
                }
                await daemon.stop()
            } catch {
                outcome.fail(error)
            }
            finished.signal()
        }
        finished.wait()
        if let error = outcome.error { throw error }
    }
}

private final class Outcome: @unchecked Sendable {
    // Written once by the daemon task before `finished` is signalled, read after the wait:
    // the semaphore orders the two, so no lock is needed.
    var error: (any Error)?
    func fail(_ error: any Error) { self.error = error }
}
