import BatonCommandLine
import BatonOS
import Foundation
import Glibc

/// One step of a daemon hand-off, as the old daemon (A) and its successor (B) tell each other
/// over their socketpair:
///   A → B `offer` (with the root lock and the listening sockets, named in `descriptors`);
///   B → A `ready` (database open, network prepared; nothing adopted, nothing accepted);
///   A → B `go` (A has stopped accepting and let go of the sandboxes);
///   B → A `serving` (sandboxes adopted, routes installed, accepting).
/// B sends `failed` with a reason instead when it cannot go on; any other end (B exits, the
/// socket closes, a deadline passes) is a failure too, and A serves on.
struct HandoffMessage: Codable, Sendable {
    enum Step: String, Codable, Sendable {
        case offer, ready, go, serving, failed
    }

    var step: Step
    var pid: Int32 = getpid()
    var version: String = BatonVersion.current
    /// `offer`: what each passed descriptor is, in order (`lock`, then DaemonListeners kinds).
    var descriptors: [String]?
    /// `offer`: the control socket is systemd's (socket activation), not to be removed.
    var controlFromSystemd: Bool?
    /// `failed`: why.
    var reason: String?
}

/// One end of the hand-off socketpair (SOCK_SEQPACKET: one message per record). Blocking;
/// called on helper threads, never on an event loop.
final class HandoffLink: Sendable {
    let fd: Int32
    /// Who is at the other end, for messages: "the new daemon (pid 123)".
    let peer: String

    init(fd: Int32, peer: String) {
        self.fd = fd
        self.peer = peer
    }

    func send(_ message: HandoffMessage, descriptors: [Int32] = []) throws {
        let payload = try JSONEncoder().encode(message)
        do {
            try DescriptorPassing.send(socket: fd, payload: Array(payload), descriptors: descriptors)
        } catch let error where error.errno == EPIPE || error.errno == ECONNRESET {
            throw BatonError(.unavailable, "\(peer) went away", cause: error)
        } catch {
            throw BatonError(.unavailable, "hand-off: cannot send \(message.step.rawValue): \(error)", cause: error)
        }
    }

    /// The next message and the descriptors it carried; nil once the other side has gone.
    func receive(until deadline: ContinuousClock.Instant) throws -> (HandoffMessage, [Int32])? {
        let received: (payload: [UInt8], descriptors: [Int32])?
        do {
            received = try DescriptorPassing.receive(socket: fd, deadline: deadline)
        } catch let error where error.errno == ETIMEDOUT {
            throw BatonError(.timeout, "hand-off: no answer from \(peer) in time", cause: error)
        } catch let error where error.errno == ECONNRESET {
            // The other side closed with a message unread: it has gone, as at end of stream.
            return nil
        } catch {
            throw BatonError(.unavailable, "hand-off: cannot receive: \(error)", cause: error)
        }
        guard let received else { return nil }
        guard let message = try? JSONDecoder().decode(HandoffMessage.self, from: Data(received.payload)) else {
            for descriptor in received.descriptors { Glibc.close(descriptor) }
            throw BatonError(.corrupt, "hand-off: the other daemon sent a message that is not a hand-off step")
        }
        return (message, received.descriptors)
    }

    /// Receives the next message and requires it to be `step`; descriptors sent with anything
    /// else are closed.
    func expect(_ step: HandoffMessage.Step, until deadline: ContinuousClock.Instant) throws -> (HandoffMessage, [Int32]) {
        guard let (message, descriptors) = try receive(until: deadline) else {
            throw BatonError(.unavailable, "\(peer) went away")
        }
        guard message.step == step else {
            for descriptor in descriptors { Glibc.close(descriptor) }
            if message.step == .failed { throw BatonError(.setupFailed, "\(peer) failed: \(message.reason ?? "no reason given")") }
            throw BatonError(.corrupt, "hand-off: \(peer) sent \(message.step.rawValue) where \(step.rawValue) was due")
        }
        return (message, descriptors)
    }

    func close() {
        Glibc.close(fd)
    }
}
