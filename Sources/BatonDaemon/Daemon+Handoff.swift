import BatonCommandLine
import BatonControl
import BatonOS
import Foundation
import Glibc
import Synchronization

/// A control or metrics server a failed hand-off replaced: its connections are closed at `stop`.
protocol RetiredServer: Sendable {
    func closeConnections() async
}

extension ControlServer: RetiredServer {}
extension MetricsServer: RetiredServer {}

/// Whether a hand-off runs now, and to which pid: one at a time.
final class HandOffState: Sendable {
    private let running = Mutex<Int32?>(nil)

    /// False when one already runs.
    func begin() -> Bool {
        running.withLock { running in
            guard running == nil else { return false }
            running = 0
            return true
        }
    }

    func successor(_ pid: Int32) { running.withLock { $0 = pid } }
    func end() { running.withLock { $0 = nil } }
    var isRunning: Bool { running.withLock { $0 != nil } }
    var successorPID: Int32? { running.withLock { $0 } }
}

/// The old daemon's side of a hand-off (HandoffLink.swift lists the steps). Until the successor
/// says it serves, this daemon can take everything back: it keeps its own copies of the lock
/// and of every listening socket, and a failure anywhere leaves it serving.
extension Daemon {
    static let defaultHandOffTimeout: Duration = .seconds(60)

    /// Starts `binary` (nil: this daemon's own executable, read from disk again) with this
    /// daemon's arguments and hands the root over to it. Returns once it serves; this daemon
    /// then only finishes what its connections have in flight (`stop`).
    func handOff(binary: String?, timeout: Duration = defaultHandOffTimeout) async throws -> DaemonUpgradeResult {
        guard let ownExecutable = options.executable else {
            throw BatonError(.invalidArgument, "this daemon was not started from a command line it could start again: restart it by hand")
        }
        let executable = try Self.successorExecutable(binary ?? ownExecutable)
        guard handOffs.begin() else {
            let to = handOffs.successorPID.flatMap { $0 > 0 ? " (to pid \($0))" : nil } ?? ""
            throw BatonError(.conflict, "a daemon hand-off is already running\(to): wait for it to finish")
        }
        defer { handOffs.end() }
        let started = ContinuousClock.now
        // Deploys, rollbacks, restarts and every other change finish first; new ones wait.
        await gate.close()
        await deploys.pauseForHandOff()
        let successor: Successor
        do {
            successor = try Successor.start(executable: executable, arguments: options.arguments)
        } catch {
            await deploys.endHandOffPause()
            await gate.reopen()
            throw Self.handOffFailed(executable, error)
        }
        handOffs.successor(successor.pid)
        let deadline = ContinuousClock.now + timeout
        do {
            var names = ["lock"]
            var descriptors = [rootLock.descriptor]
            for (kind, fd) in listeners.all {
                names.append(kind.rawValue)
                descriptors.append(fd)
            }
            var offer = HandoffMessage(step: .offer, descriptors: names)
            offer.controlFromSystemd = listeners.controlFromSystemd
            try successor.link.send(offer, descriptors: descriptors)
            _ = try await successor.expect(.ready, until: deadline)
        } catch {
            throw await giveUp(successor, executable, error, takingBack: false)
        }
        // From here on this daemon has let go, and takes it all back if the successor fails.
        await letGo()
        let serving: HandoffMessage
        do {
            try successor.link.send(HandoffMessage(step: .go))
            serving = try await successor.expect(.serving, until: deadline)
        } catch {
            throw await giveUp(successor, executable, error, takingBack: true)
        }
        rootLock.handOver()
        ownsRoot.withLock { $0 = false }
        successor.link.close()
        await gate.handedOver(to: successor.pid)
        let elapsed = ContinuousClock.now - started
        let milliseconds = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
        logger.info("handed over to pid \(successor.pid) (\(serving.version)) in \(milliseconds) ms; finishing what is in flight")
        return DaemonUpgradeResult(fromPid: getpid(), fromVersion: BatonVersion.current, toPid: successor.pid,
                                   toVersion: serving.version, milliseconds: milliseconds)
    }

    /// The successor failed: it is killed and reaped, this daemon's pid goes back into the lock
    /// file, what was let go is taken back (`takingBack`), and the held changes run here.
    /// Returns the error to throw.
    private func giveUp(_ successor: Successor, _ executable: String, _ error: any Error, takingBack: Bool) async -> BatonError {
        let end = await successor.abandon()
        rootLock.recordHolder()
        if takingBack { await takeBack() } else { await deploys.endHandOffPause() }
        await gate.reopen()
        return Self.handOffFailed(executable, error, successorEnd: end)
    }

    /// Stops accepting on every listener (the successor's copies keep the sockets) and lets
    /// go of the sandboxes, which keep serving; the proxy still serves the connections it has.
    private func letGo() async {
        if let reaper = take(previewReaper) {
            reaper.cancel()
            await reaper.value
        }
        await deploys.shutDown()
        await proxy.stopAccepting()
        await control.withLock { $0 }?.stopAccepting(removingPath: false)
        await metricsServer.withLock { $0 }?.stopAccepting()
    }

    /// The successor failed after `letGo`: adopt the sandboxes again (what it may have changed
    /// is in the database) and accept again on this daemon's own copies of the sockets.
    private func takeBack() async {
        // Their connections (the `upgrade` request's among them) stay until `stop` closes them.
        let retired: [any RetiredServer] = [take(control) as (any RetiredServer)?, take(metricsServer)].compactMap { $0 }
        retiredServers.withLock { $0?.append(contentsOf: retired) }
        await deploys.resume()
        do {
            _ = try await serve()
            logger.warning("the hand-off failed: this daemon serves on")
        } catch {
            logger.critical("the hand-off failed and this daemon cannot accept again: \(error)")
        }
    }

    /// `successorEnd`: how the successor ended, when it did on its own (it exited, or was killed).
    private static func handOffFailed(_ executable: String, _ error: any Error, successorEnd: String? = nil) -> BatonError {
        var reason = (error as? BatonError)?.message ?? "\(error)"
        if let successorEnd { reason += " (\(successorEnd))" }
        return BatonError(.setupFailed, "cannot hand over to \(executable): \(reason); this daemon (pid \(getpid())) serves on",
                          cause: error)
    }

    /// The executable a successor runs: `path` itself, or the baton-daemon beside a `baton`
    /// CLI. Root runs it, so it must be root's alone: owned by root and not writable by others,
    /// nor its directory.
    static func successorExecutable(_ path: String) throws -> String {
        guard path.hasPrefix("/") else {
            throw BatonError(.invalidArgument, "invalid binary '\(path)': use an absolute path")
        }
        var executable = path
        if path.split(separator: "/").last == "baton" {
            executable = PathName.parent(of: path) + "/baton-daemon"
        }
        for (file, isDirectory) in [(executable, false), (PathName.parent(of: executable), true)] {
            var info = stat()
            guard stat(file, &info) == 0 else {
                throw BatonError(.notFound, "cannot upgrade to \(executable): \(OSError("stat \(file)", errno: errno))")
            }
            let kindOK = isDirectory ? (info.st_mode & S_IFMT) == S_IFDIR : (info.st_mode & S_IFMT) == S_IFREG && (info.st_mode & S_IXUSR) != 0
            guard kindOK else {
                throw BatonError(.invalidArgument, "cannot upgrade to \(executable): \(file) is not \(isDirectory ? "a directory" : "an executable file")")
            }
            guard info.st_uid == 0, info.st_mode & (S_IWGRP | S_IWOTH) == 0 else {
                throw BatonError(.invalidArgument, "cannot upgrade to \(executable): \(file) must be owned by root and writable by no one else, since root runs it")
            }
        }
        return executable
    }
}

/// The new daemon process of a hand-off, and this side of the link to it.
private struct Successor: Sendable {
    let pid: pid_t
    let link: HandoffLink

    static func start(executable: String, arguments: [String]) throws -> Successor {
        let (mine, theirs) = try DescriptorPassing.socketPair()
        defer { close(theirs) }
        do {
            let pid = try ProgramSpawn.start([executable] + arguments, executable: executable, passing: [theirs],
                                             closingOthers: true, environment: [Predecessor.environmentName: "3"])
            return Successor(pid: pid, link: HandoffLink(fd: mine, peer: "the new daemon (pid \(pid))"))
        } catch {
            close(mine)
            throw error
        }
    }

    func expect(_ step: HandoffMessage.Step, until deadline: ContinuousClock.Instant) async throws -> HandoffMessage {
        let link = self.link
        return try await DetachedThread.run {
            let (message, descriptors) = try link.expect(step, until: deadline)
            for fd in descriptors { close(fd) }
            return message
        }
    }

    /// Kills it (it may hold nothing by now, or some sockets; this daemon has its own copies)
    /// and reaps it. Returns how it ended when it had ended on its own ("exited with status 1").
    func abandon() async -> String? {
        link.close()
        let pid = self.pid
        return await DetachedThread.run {
            var status: Int32 = 0
            // Already gone: say how. Else it is killed now, which needs no saying.
            let ended = waitpid(pid, &status, WNOHANG) == pid
            if !ended {
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                return nil
            }
            let signal = status & 0x7f
            return signal == 0 ? "it exited with status \((status >> 8) & 0xff)" : "it was killed by signal \(signal)"
        }
    }
}
