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
    /// Whether `release` unlocks: not while a predecessor shares the lock (see `adopt`).
    private let unlocks: Atomic<Bool>

    private init(fd: Int32, unlocks: Bool = true) {
        self.fd = fd
        self.unlocks = Atomic(unlocks)
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
        lock.recordHolder()
        return lock
    }

    /// The lock passed by the daemon this one succeeds (a hand-off): `fd` shares the open file
    /// description the predecessor locked, and a flock belongs to that description, so the lock
    /// is already this process's, taken over without a moment in which the root was free. Checked
    /// all the same: a descriptor that holds no lock of this root is refused.
    public static func adopt(descriptor fd: Int32, root: String) throws -> RootLock {
        let path = Self.path(root: root)
        var passed = stat()
        var onDisk = stat()
        guard fstat(fd, &passed) == 0, stat(path, &onDisk) == 0,
            passed.st_dev == onDisk.st_dev, passed.st_ino == onDisk.st_ino
        else {
            throw BatonError(.setupFailed, "cannot take over root \(root): the lock passed on is not \(path)")
        }
        // Succeeds at once for the description that holds the lock; fails for any other.
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            throw BatonError(.setupFailed, "cannot take over root \(root): \(OSError("flock \(path)", errno: code))")
        }
        // Until `confirm`, a release (this successor failing) must leave the predecessor's lock be.
        let lock = RootLock(fd: fd, unlocks: false)
        lock.recordHolder()
        return lock
    }

    /// Writes this process's pid into the lock file: at the start, and again by a daemon whose
    /// successor failed after writing its own. Best effort: the pid only makes a second
    /// daemon's message more useful.
    public func recordHolder() {
        let text = Array("\(getpid())\n".utf8)
        if ftruncate(fd, 0) == 0 { _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } }
    }

    /// An adopted lock is this process's alone from now on (the hand-off has succeeded).
    public func confirm() {
        unlocks.store(true, ordering: .sequentiallyConsistent)
    }

    /// The locked descriptor, to pass to a successor (`adopt`).
    public var descriptor: Int32 { fd }

    /// Lets the successor that has this lock's descriptor keep it: this process's copy is closed
    /// without unlocking, since an unlock would free the root under the successor too.
    public func handOver() {
        guard takeRelease() else { return }
        close(fd)
    }

    /// Lets another daemon take the root (the end of `Daemon.stop`).
    public func release() {
        guard takeRelease() else { return }
        // Unlock before closing: a child forked meanwhile (a sandbox being set up, say) shares
        // the open file description until it execs, and a close alone would leave the lock held
        // by that copy for as long.
        if unlocks.load(ordering: .sequentiallyConsistent) { flock(fd, LOCK_UN) }
        close(fd)
    }

    private func takeRelease() -> Bool {
        released.withLock { done in
            defer { done = true }
            return !done
        }
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
