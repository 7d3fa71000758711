import NIOCore
import Synchronization

/// The connections one of the daemon's servers (control socket, metrics port) has accepted,
/// so that a shutdown can close them and wait until they are closed while the event loops
/// still run; and a gate for work that finishes off the loops (a control request's reply),
/// which is dropped once the server has closed instead of being scheduled on a loop that may
/// be gone by then.
final class ServerConnections: Sendable {
    private struct State {
        var open = true
        var channels: [ObjectIdentifier: any Channel] = [:]
    }

    private let state = Mutex(State())

    /// Tracks `channel` until it closes. Returns false once `closeAll` has begun: the caller
    /// refuses the connection.
    func accept(_ channel: any Channel) -> Bool {
        let key = ObjectIdentifier(channel)
        let accepted = state.withLock { state -> Bool in
            guard state.open else { return false }
            state.channels[key] = channel
            return true
        }
        guard accepted else { return false }
        // Runs on the channel's own loop and only takes the lock: nothing hops to another loop.
        channel.closeFuture.whenComplete { [self] _ in
            _ = state.withLock { $0.channels.removeValue(forKey: key) }
        }
        return true
    }

    /// Runs `body` on `loop` unless `closeAll` has begun. The check and the scheduling happen
    /// under one lock, so nothing is scheduled after `closeAll` has returned.
    func execute(on loop: any EventLoop, _ body: @escaping @Sendable () -> Void) {
        state.withLock { state in
            if state.open { loop.execute(body) }
        }
    }

    /// Closes every connection and returns once each has closed.
    func closeAll() async {
        let channels = state.withLock { state in
            state.open = false
            return Array(state.channels.values)
        }
        for channel in channels {
            channel.close(promise: nil)
            try? await channel.closeFuture.get()
        }
    }
}
