import BatonCommandLine
import BatonOS
import Dispatch
import Foundation
import Glibc
import NIOCore
import Synchronization

extension Daemon {
    /// Runs a daemon in the foreground until SIGTERM or SIGINT, then shuts it down gracefully.
    /// SIGHUP hands the root over to a new process of the installed executable (as `baton
    /// daemon upgrade` does), after which this one finishes what is in flight and returns.
    /// Blocks the calling (synchronous) thread; `onReady` gets the started daemon and the proxy's
    /// bound address.
    /// `onStopped` runs once it has stopped, with whether it had handed the root over.
    public static func runUntilSignalled(options: Options, onReady: @escaping @Sendable (Daemon, SocketAddress) -> Void = { _, _ in },
                                         onStopped: @escaping @Sendable (_ handedOver: Bool) -> Void = { _ in }) throws {
        for signal in [SIGTERM, SIGINT, SIGHUP] { Glibc.signal(signal, SIG_IGN) }
        let stopRequested = DispatchSemaphore(value: 0)
        let sources = [SIGTERM, SIGINT].map { signal in
            let source = DispatchSource.makeSignalSource(signal: signal, queue: .global())
            source.setEventHandler { stopRequested.signal() }
            source.resume()
            return source
        }
        let started = DaemonSlot()
        let reload = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        reload.setEventHandler { started.daemon?.handOffOnSignal() }
        reload.resume()
        defer {
            sources.forEach { $0.cancel() }
            reload.cancel()
        }

        let outcome = Outcome()
        let finished = DispatchSemaphore(value: 0)
        Task {
            do {
                let daemon = try Daemon(options: options)
                daemon.onExitRequest { stopRequested.signal() }
                let address = try await daemon.start()
                started.daemon = daemon
                onReady(daemon, address)
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    DispatchQueue.global().async {
                        stopRequested.wait()
                        continuation.resume()
                    }
                }
                let owner = daemon.ownsRoot.withLock { $0 }
                await daemon.stop()
                onStopped(!owner)
            } catch {
                outcome.fail(error)
            }
            finished.signal()
        }
        finished.wait()
        if let error = outcome.error { throw error }
    }
}

extension Daemon {
    /// SIGHUP: a hand-off to the installed executable; on success this daemon exits once its
    /// connections are done, on failure it says why and serves on.
    func handOffOnSignal() {
        Task {
            do {
                let result = try await handOff(binary: nil)
                StandardStream.line("baton daemon: handed over to pid \(result.toPid) (\(result.toVersion)) in \(result.milliseconds) ms", to: STDERR_FILENO)
                requestExit()
            } catch {
                StandardStream.line("error: \((error as? BatonError)?.message ?? "\(error)")", to: STDERR_FILENO)
            }
        }
    }
}

/// The daemon once started, for the SIGHUP handler.
private final class DaemonSlot: Sendable {
    private let slot = Mutex<Daemon?>(nil)
    var daemon: Daemon? {
        get { slot.withLock { $0 } }
        set { slot.withLock { $0 = newValue } }
    }
}

private final class Outcome: @unchecked Sendable {
    // Written once by the daemon task before `finished` is signalled, read after the wait:
    // the semaphore orders the two, so no lock is needed.
    var error: (any Error)?
    func fail(_ error: any Error) { self.error = error }
}
