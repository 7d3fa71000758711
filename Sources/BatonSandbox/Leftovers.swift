import BatonOS
import FoundationEssentials
import Glibc

/// What Baton made for sandboxes of one root and no record accounts for any more (`baton
/// doctor`, `baton ps --all`): sandbox directories nobody holds, cgroups named for this root's
/// sandboxes, the processes in them, and host mounts beneath the root. Only ever what is this
/// root's: directories are entries of `<root>/sandboxes` (real directories, not symlinks);
/// cgroups are `baton/<id>` for an id this root has a directory or a record of; processes are
/// those in such cgroups or a directory's recorded init (pid, start time and cgroup checked);
/// mounts are mount points strictly beneath `<root>/sandboxes`, on the root's real path, where
/// the sandboxes' overlays are mounted (in their own mount namespaces: one the host sees was
/// left behind), and the tmpfs on `<root>/sandboxes` itself when no sandbox directory is left in
/// it (SandboxesTmpfs). Anything else mounted under the root (a disk for the store, say) is not
/// Baton's.
public struct Leftovers: Sendable, Equatable {
    public struct Directory: Sendable, Equatable {
        public let id: String
        public let path: String
        /// Its recorded init, when that still runs.
        public let pid: Int32?
    }

    public struct CgroupEntry: Sendable, Equatable {
        public let id: String
        public let paths: [String]
        /// Processes in it now.
        public let pids: [Int32]
    }

    /// The root's real path.
    public var root = ""
    public var directories: [Directory] = []
    public var cgroups: [CgroupEntry] = []
    public var mounts: [String] = []

    public var isEmpty: Bool { directories.isEmpty && cgroups.isEmpty && mounts.isEmpty }

    /// Scans `root`. `accounted`: ids a record says run (the daemon's running sandboxes);
    /// `known`: every id this root has a record of, running or ended (its cgroups are this
    /// root's). A directory another process holds (a launcher: the daemon, `baton run`) or
    /// that was made a moment ago is accounted for by whoever holds it.
    public static func scan(root: String, accounted: Set<String>, known: Set<String>,
                            hierarchy: CgroupHierarchy? = CgroupHierarchy.host) -> Leftovers {
        var found = Leftovers()
        let real = realPath(root) ?? root
        found.root = real
        var ids = known
        for id in (try? DirectoryListing.names("\(real)/sandboxes")) ?? [] where SpecValidation.isValidID(id) {
            ids.insert(id)
            guard !accounted.contains(id) else { continue }
            let path = SandboxDirectory.path(root: real, id: id)
            var info = stat()
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { continue }
            guard let fd = SandboxDirectory.lock(path) else { continue }
            let young = SandboxDirectory.isYoungAndEmpty(fd)
            close(fd)
            if !young {
                let pid = (try? SandboxRecord.running(root: real, id: id))?.initProcess.pid
                found.directories.append(Directory(id: id, path: path, pid: pid))
            }
        }
        let held = Set(found.directories.map(\.id))
        if let hierarchy {
            for id in ids.sorted() where !accounted.contains(id) && SpecValidation.isValidID(id) {
                // A directory held by its launcher: its cgroup is that launcher's too.
                if !held.contains(id), access(SandboxDirectory.path(root: real, id: id), F_OK) == 0 { continue }
                let cgroup = Cgroup.existing(name: id, hierarchy: hierarchy)
                guard !cgroup.paths.isEmpty else { continue }
                found.cgroups.append(CgroupEntry(id: id, paths: cgroup.paths, pids: pids(in: cgroup)))
            }
        }
        found.mounts = mounts(beneath: real + "/sandboxes")
        // The tmpfs the sandboxes' directories live in, left mounted with none in it (a
        // launcher killed between mounting it and making its directory).
        if SandboxesTmpfs.isMounted(root: real), SandboxesTmpfs.isEmpty(SandboxesTmpfs.path(root: real)) {
            found.mounts.append(SandboxesTmpfs.path(root: real))
        }
        return found
    }

    /// Kills the processes, unmounts (deepest first), removes the cgroups and the directories.
    /// Returns what it could not remove, in words.
    public func remove() -> [String] {
        var failures: [String] = []
        // A recorded init still running: killed, which ends its pid namespace, and waited for.
        for directory in directories where directory.pid != nil {
            guard let sandbox = try? Sandbox.adopt(root: root, id: directory.id) else { continue }
            sandbox.kill()
            _ = sandbox.process.waitForExit(timeout: 30)
            sandbox.destroy()
        }
        for cgroup in cgroups {
            let group = Cgroup(hierarchy: CgroupHierarchy.host ?? .v1([:]), paths: cgroup.paths)
            // A fork between a listing and the kill lands in the cgroup too: list again until empty.
            for _ in 0..<200 {
                let pids = Self.pids(in: group)
                if pids.isEmpty { break }
                for pid in pids { Glibc.kill(pid, SIGKILL) }
                usleep(10_000)
            }
            group.remove()
            for path in cgroup.paths where access(path, F_OK) == 0 { failures.append("cannot remove cgroup \(path)") }
        }
        let tmpfs = SandboxesTmpfs.path(root: root)
        for mount in mounts.sorted(by: { $0.count > $1.count }) where mount != tmpfs && umount2(mount, Int32(MNT_DETACH)) != 0 && errno != EINVAL {
            failures.append("cannot unmount \(mount): \(String(cString: strerror(errno)))")
        }
        for directory in directories where access(directory.path, F_OK) == 0 {
            guard let fd = SandboxDirectory.lock(directory.path) else { continue }
            SandboxDirectory.remove(directory.path, lockFD: fd)
            if access(directory.path, F_OK) == 0 { failures.append("cannot remove \(directory.path): not empty") }
        }
        // Never detached: a launcher may be making its directory in it; unmounted only when
        // empty and unused (a launcher that uses it unmounts it when its sandbox ends).
        if mounts.contains(tmpfs) { SandboxesTmpfs.release(root: root) }
        return failures
    }

    static func pids(in cgroup: Cgroup) -> [Int32] {
        var all = Set<Int32>()
        for path in cgroup.paths {
            for line in ((try? readText("\(path)/cgroup.procs")) ?? "").split(separator: "\n") {
                if let pid = Int32(line) { all.insert(pid) }
            }
        }
        return all.sorted()
    }

    /// Mount points strictly beneath `root` (already a real path), from /proc/self/mountinfo,
    /// whose octal escapes (`\040` for a space) are decoded.
    static func mounts(beneath root: String) -> [String] {
        guard let text = try? readText("/proc/self/mountinfo") else { return [] }
        let prefix = root.hasSuffix("/") ? root : root + "/"
        var found: [String] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { continue }
            let point = unescape(fields[4])
            if point.hasPrefix(prefix), !found.contains(point) { found.append(point) }
        }
        return found
    }

    private static func unescape(_ field: Substring) -> String {
        var bytes: [UInt8] = []
        var input = Array(field.utf8)[...]
        while let byte = input.first {
            if byte == UInt8(ascii: "\\"), input.count >= 4,
               let value = UInt8(String(decoding: input.dropFirst().prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(value)
                input = input.dropFirst(4)
            } else {
                bytes.append(byte)
                input = input.dropFirst()
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
