import BatonOS
import Glibc

/// `<root>/sandboxes` is a tmpfs of its own while the root has sandboxes, so that a sandbox's
/// directory and record cost no disk inodes: on ext4 mounted with `discard`, allocating them
/// scans the inode bitmap past recently deleted ones, and freeing the directory's block waits
/// for a synchronous discard (0.4 ms of CPU and more of waiting per `baton run`,
/// docs/benchmarks.md). Every reader keeps the same path: the mount is invisible to them.
///
/// Mounted by a launcher that finds the directory empty and on another file system, and
/// unmounted by whoever removes the last sandbox directory from it, both under an flock on
/// the root directory, so that no launcher's new directory ends up hidden beneath a second
/// mount or in a detached one. A launcher holds a descriptor inside the tmpfs from before its
/// `mkdir` until its sandbox is removed (the directory's lock), and the kernel refuses to
/// unmount a file system in use (EBUSY): a directory is never taken from under its sandbox.
/// A directory with entries on disk (an earlier version's sandboxes, a dead launcher's) is
/// never mounted over: new sandboxes go there too until it is empty.
///
/// Only Baton writes in it (a record per sandbox); a sandbox sees none of it (its root is a
/// read-only overlay mounted over its directory in its own mount namespace). The limits keep
/// Baton's records from growing into the host's memory without bound: past them a launch
/// fails with ENOSPC and starts nothing.
enum SandboxesTmpfs {
    /// 16,384 sandboxes with a record of up to one page each: a directory and a record are
    /// two inodes; a record takes whole pages.
    static let options = "mode=0700,size=64m,nr_inodes=32768"

    static func path(root: String) -> String { root + "/sandboxes" }

    /// Milliseconds of EBUSY `release` waits out (see there).
    static let busyRetries = 100

    /// A descriptor of `<root>/sandboxes` (made if missing) for a new sandbox directory to be
    /// made in: the tmpfs when it is mounted or can be. Holding it keeps the mount; close it
    /// once the directory's lock is taken.
    static func open(root: String) throws(OSError) -> Int32 {
        let sandboxes = path(root: root)
        if mkdir(sandboxes, 0o700) != 0 && errno != EEXIST { throw OSError("mkdir \(sandboxes)", errno: errno) }
        let first = try openDirectory(sandboxes)
        if isTmpfs(first) { return first }
        close(first)
        return try withRootLock(root) { () throws(OSError) -> Int32 in
            // Again under the lock: another launcher may have mounted it since.
            let fd = try openDirectory(sandboxes)
            guard !isTmpfs(fd), isEmpty(sandboxes),
                  mount("baton-sandboxes", sandboxes, "tmpfs", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC), options) == 0
            else {
                // Not permitted (no CAP_SYS_ADMIN), or sandboxes on disk: they stay there.
                return fd
            }
            close(fd)
            return try openDirectory(sandboxes)
        }
    }

    /// Unmounts the tmpfs when no sandbox directory is left in it. Quiet when it cannot: a
    /// process that has it open (a launcher about to make its directory, a listing) keeps it
    /// mounted, and the next removal tries again.
    ///
    /// A sandbox being started by another thread of the same process also holds it for a
    /// moment: its child is a clone of the launcher, with copies of every descriptor open at
    /// that instant (a directory lock in the tmpfs among them) until its first step closes
    /// them. The unmount is retried for up to `busyRetries` milliseconds past such moments.
    static func release(root: String) {
        guard isMounted(root: root) else { return }
        let sandboxes = path(root: root)
        _ = try? withRootLock(root) { () throws(OSError) in
            let fd = try openDirectory(sandboxes)
            let ours = isTmpfs(fd)
            close(fd)
            guard ours && isEmpty(sandboxes) else { return }
            for _ in 0..<busyRetries {
                if umount2(sandboxes, 0) == 0 || errno != EBUSY { return }
                usleep(1000)
            }
        }
    }

    /// Whether `<root>/sandboxes` is a mount point of its own (for tests and `baton doctor`).
    static func isMounted(root: String) -> Bool {
        var mounted = stat(), parent = stat()
        return stat(path(root: root), &mounted) == 0 && stat(root, &parent) == 0 && mounted.st_dev != parent.st_dev
    }

    private static func withRootLock<T>(_ root: String, _ body: () throws(OSError) -> T) throws(OSError) -> T {
        let fd = try openDirectory(root)
        defer { close(fd) }
        try sys("flock \(root)") { flock(fd, LOCK_EX) }
        return try body()
    }

    private static func openDirectory(_ path: String) throws(OSError) -> Int32 {
        try sys("open \(path)") { Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
    }

    private static func isTmpfs(_ fd: Int32) -> Bool { FileSystemType.isTmpfs(fd) }

    /// Whether the directory at `path` has no entries; false when it cannot be listed.
    static func isEmpty(_ path: String) -> Bool {
        (try? DirectoryListing.names(path))?.isEmpty ?? false
    }
}
