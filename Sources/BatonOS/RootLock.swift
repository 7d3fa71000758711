import Glibc
import Synchronization

/// One daemon per root (DESIGN.md invariant 6): an exclusive flock on `<root>/daemon.lock`,
/// taken before the daemon reads or changes anything under the root and held by an open
/// descriptor for its whole life. The file holds the holder's pid, so a second daemon can say
/// which one runs. The kernel drops the lock when the holder dies, even by SIGKILL.
/// `baton network rm` takes it too, so that no daemon starts while the network goes.
public final class RootLock: Sendable {
    public static func path(root: String) -> String { root + "/daemon.lock" }

    private let fd: Int32
    private let released = Mutex(false)

    private init(fd: Int32) {
        self.fd = fd
    }

    deinit { release() }

    /// Takes the lock of `root` or throws, having changed nothing, when another daemon holds it.
    public static func acquire(root: String) throws -> RootLock {
        let path = Self.path(root: root)
        let fd: Int32
        do {
            fd = try sys("open \(path)") { open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600) }
        } catch {
            throw BatonError(.setupFailed, "cannot lock root \(root): \(error)", cause: error)
        }
        do {
            try sys("flock \(path)") { flock(fd, LOCK_EX | LOCK_NB) }
        } catch {
            close(fd)
            guard error.errno == EWOULDBLOCK else {
                throw BatonError(.setupFailed, "cannot lock root \(root): \(error)", cause: error)
            }
            let holder = holderPID(path).map { " (pid \($0))" } ?? ""
            throw BatonError(.conflict, "root \(root) is in use by another baton daemon\(holder): stop it first or choose another --root")
        }
        let lock = RootLock(fd: fd)
        // Best effort: the pid only makes a second daemon's message more useful.
        let text = Array("\(getpid())\n".utf8)
        if ftruncate(fd, 0) == 0 { _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } }
        return lock
    }

    /// Lets another daemon take the root (the end of `Daemon.stop`).
    public func release() {
        let first = released.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        // Unlock before closing: a child forked meanwhile (a sandbox being set up, say) shares
        // the open file description until it execs, and a close alone would leave the lock held
        // by that copy for as long.
        flock(fd, LOCK_UN)
        close(fd)
    }

    /// The pid the holder wrote, if it has written it yet.
    private static func holderPID(_ path: String) -> Int32? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 16)
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self).split(separator: "\n").first.flatMap { Int32($0) }
    }
}
