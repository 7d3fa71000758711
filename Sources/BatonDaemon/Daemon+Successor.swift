import BatonOS
import Foundation
import Glibc

/// What a daemon started by a hand-off got from the daemon it succeeds: the link to it, the
/// root lock and the listening sockets. `baton-daemon` finds the link at the descriptor
/// `BATON_HANDOFF_FD` names.
public struct Predecessor: Sendable {
    static let environmentName = "BATON_HANDOFF_FD"
    /// How long the old daemon may take to offer, and then to let go.
    static let stepTimeout: Duration = .seconds(60)

    let link: HandoffLink
    let pid: Int32
    let version: String
    let lock: Int32
    let listeners: [DaemonListeners.Kind: Int32]
    let controlFromSystemd: Bool

    /// The offer on the link this process was started with, if it was started by a hand-off
    /// (the variable is removed, and the link made close-on-exec, so no child sees either).
    public static func fromEnvironment() throws -> Predecessor? {
        guard let text = getenv(environmentName).map({ String(cString: $0) }) else { return nil }
        unsetenv(environmentName)
        guard let fd = Int32(text), fd > 2, fcntl(fd, F_SETFD, FD_CLOEXEC) == 0 else {
            throw BatonError(.invalidArgument, "\(environmentName)=\(text) names no open descriptor: it is set by a daemon hand-off, not by hand")
        }
        let link = HandoffLink(fd: fd, peer: "the old daemon")
        do {
            let (offer, descriptors) = try link.expect(.offer, until: .now + stepTimeout)
            return try Predecessor(link: link, offer: offer, descriptors: descriptors)
        } catch {
            link.close()
            throw error
        }
    }

    private init(link: HandoffLink, offer: HandoffMessage, descriptors: [Int32]) throws {
        let names = offer.descriptors ?? []
        guard names.count == descriptors.count, let lockIndex = names.firstIndex(of: "lock") else {
            for fd in descriptors { close(fd) }
            throw BatonError(.corrupt, "hand-off: the old daemon's offer names \(names.count) descriptors and sent \(descriptors.count)")
        }
        var listeners: [DaemonListeners.Kind: Int32] = [:]
        for (name, fd) in zip(names, descriptors) {
            if let kind = DaemonListeners.Kind(rawValue: name) { listeners[kind] = fd } else if name != "lock" { close(fd) }
        }
        self.link = link
        pid = offer.pid
        version = offer.version
        lock = descriptors[lockIndex]
        self.listeners = listeners
        controlFromSystemd = offer.controlFromSystemd ?? false
    }

    /// Tells the old daemon this one is ready, and returns once it has stopped accepting and
    /// let go of the sandboxes. Should it go away instead (killed), this one takes over all
    /// the same: it already holds the lock and every socket.
    func readyThenWaitForGo() async throws {
        try link.send(HandoffMessage(step: .ready))
        FaultPoint.handoffReady.hit()
        let link = self.link
        _ = try await DetachedThread.run {
            try link.receive(until: .now + Self.stepTimeout).map { message, descriptors in
                for fd in descriptors { close(fd) }
                guard message.step == .go else {
                    throw BatonError(.corrupt, "hand-off: the old daemon sent \(message.step.rawValue) where go was due")
                }
            }
        }
    }

    /// Tells the old daemon why this one gives up (best effort; it also sees this one exit).
    func fail(_ error: any Error) {
        let reason = (error as? BatonError)?.message ?? "\(error)"
        try? link.send(HandoffMessage(step: .failed, reason: reason))
    }
}
