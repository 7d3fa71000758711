import BatonOS
import Glibc

/// `<root>/skeleton`: the layer on top of every sandbox's root, holding only the directories
/// the mount plan mounts on (`MountPlan.skeleton`). Because it shadows the root's own `/proc`,
/// `/dev`, `/sys` and `/tmp`, mount targets are always these empty directories, never a
/// symlink the artifact ships. Made once per root and never changed; sandboxes with a user
/// namespace get their own copy owned by the namespace's root, so `/` belongs to root inside.
enum SandboxSkeleton {
    static func path(root: String, owner: UInt32?) -> String {
        owner.map { "\(root)/skeleton-\($0)" } ?? "\(root)/skeleton"
    }

    /// The skeleton's path, made first if this root has none yet.
    static func ensure(root: String, owner: UInt32?) throws -> String {
        let final = path(root: root, owner: owner)
        if PathName.isDirectory(final) { return final }
        let temporary = "\(root)/.skeleton-\(UInt64.random(in: 0...UInt64.max))"
        do {
            try sys("mkdir \(temporary)") { mkdir(temporary, 0o755) }
            for name in MountPlan.skeleton {
                try sys("mkdir \(temporary)/\(name)") { mkdir("\(temporary)/\(name)", 0o755) }
            }
            // mkdir's mode went through the umask; the sandbox's `/` must be 0755 whatever it was.
            for path in [temporary] + MountPlan.skeleton.map({ "\(temporary)/\($0)" }) {
                try sys("chmod \(path)") { chmod(path, 0o755) }
                if let owner { try sys("chown \(path)") { chown(path, owner, owner) } }
            }
            // Another launcher may have made it meanwhile: theirs is the same.
            if rename(temporary, final) != 0 && errno != EEXIST && errno != ENOTEMPTY {
                throw OSError("rename \(temporary)", errno: errno)
            }
        } catch let error as OSError {
            removeTemporary(temporary)
            throw BatonError(.setupFailed, "cannot make the sandbox skeleton \(final): \(error.description)", cause: error)
        }
        removeTemporary(temporary)
        return final
    }

    private static func removeTemporary(_ path: String) {
        for name in MountPlan.skeleton { rmdir("\(path)/\(name)") }
        rmdir(path)
    }
}
