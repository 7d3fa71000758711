import BatonOS
import FoundationEssentials
import Glibc

/// `<root>/sandboxes/<id>`: the sandbox record, and the overlay root's mount point. Its
/// launcher holds an flock on the directory itself. The child mounts the overlay over the
/// directory, in its own mount namespace only, so the host keeps seeing the record. It lives
/// on a tmpfs (SandboxesTmpfs) when it can; no lock file and no subdirectory, for when it
/// cannot: on a filesystem mounted with `discard`, every file removed costs a synchronous
/// discard.
enum SandboxDirectory {
    /// Creates the directory (0700, like everything under the root) and takes its lock.
    static func create(root: String, id: String) throws -> (path: String, lockFD: Int32) {
        try StateRoot.prepare(root)
        // Held until the directory's own lock is: the tmpfs cannot be unmounted in between.
        let sandboxes: Int32
        do {
            sandboxes = try SandboxesTmpfs.open(root: root)
        } catch {
            throw BatonError(.setupFailed, "cannot create \(SandboxesTmpfs.path(root: root)): \(error.reason)", cause: error)
        }
        let directory = path(root: root, id: id)
        if mkdir(directory, 0o700) != 0 {
            let error = errno
            close(sandboxes)
            if error == EEXIST { throw BatonError(.conflict, "a sandbox named '\(id)' already exists; pick another --name") }
            throw BatonError(.setupFailed, "cannot create \(directory): \(String(cString: strerror(error)))")
        }
        let lockFD = lock(directory)
        let error = errno
        close(sandboxes)
        guard let lockFD else {
            remove(directory, lockFD: -1)
            throw BatonError(.setupFailed, "cannot prepare \(directory): \(String(cString: strerror(error)))")
        }
        return (directory, lockFD)
    }

    /// How old an unlocked directory without a record must be before a sweep takes it for a
    /// dead launcher's: a live launcher leaves its new directory so between mkdir and flock.
    static let emptyStaleAfterSeconds = 10

    /// Whether the directory at `fd` has no record yet and was made moments ago: maybe a
    /// launcher's between its mkdir and its flock, which a sweep must leave alone.
    static func isYoungAndEmpty(_ fd: Int32) -> Bool {
        var info = stat()
        if fstatat(fd, SandboxRecord.fileName, &info, AT_SYMLINK_NOFOLLOW) == 0 { return false }
        guard fstat(fd, &info) == 0 else { return false }
        return time(nil) - info.st_ctim.tv_sec < emptyStaleAfterSeconds
    }

    static func path(root: String, id: String) -> String { "\(root)/sandboxes/\(id)" }

    /// The directory opened and flock'ed without waiting; nil (errno set) when it is missing
    /// or another launcher holds it.
    static func lock(_ directory: String) -> Int32? {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let error = errno
            close(fd)
            errno = error
            return nil
        }
        return fd
    }

    /// Removes the directory, the sandbox's own layer if it had one, and then lets go of the
    /// lock (so no new sandbox of the same name can start in between); the last one out
    /// unmounts the tmpfs (SandboxesTmpfs).
    static func remove(_ directory: String, lockFD: Int32) {
        let sandboxes = PathName.parent(of: directory)
        let root = PathName.parent(of: sandboxes)
        defer { SandboxesTmpfs.release(root: root) }
        SandboxLayer.remove(root: root, id: PathName.lastComponent(of: directory))
        unlink("\(directory)/\(SandboxRecord.fileName)")
        // What is rarely there is removed only when it is: a record write cut short, and the
        // staging subdirectory of sandboxes started by earlier versions.
        if rmdir(directory) != 0 && errno == ENOTEMPTY {
            unlink("\(directory)/\(SandboxRecord.fileName).tmp")
            rmdir("\(directory)/mnt")
            rmdir(directory)
        }
        if lockFD >= 0 { close(lockFD) }
    }

    /// Removes what launchers that died (SIGKILL) left behind: directories whose lock nobody
    /// holds and whose cgroup has no process. A directory whose sandbox still runs is left to
    /// whoever adopts it.
    static func sweepStale(root: String) {
        // A sandbox's own layer is made after its directory and removed before it: one whose
        // directory is gone was left by a launcher that died in between.
        for id in (try? DirectoryListing.names(SandboxLayer.directory(root: root))) ?? [] where access(path(root: root, id: id), F_OK) != 0 {
            SandboxLayer.remove(root: root, id: id)
        }
        guard let entries = try? DirectoryListing.names("\(root)/sandboxes") else { return }
        for id in entries {
            let directory = path(root: root, id: id)
            guard let fd = lock(directory) else { continue }
            if isYoungAndEmpty(fd) {
                close(fd)
                continue
            }
            let cgroup = CgroupHierarchy.host.map { Cgroup.existing(name: id, hierarchy: $0) } ?? .none
            if cgroup.hasProcesses { close(fd); continue }
            cgroup.remove()
            remove(directory, lockFD: fd)
        }
    }
}
