import BatonOS
import Glibc

/// `<root>/build-work/<id>`: a RUN step's overlay upper and work dirs, locked (flock) while
/// the step runs and removed after it. A build killed mid-step leaves its directory unlocked;
/// the next build removes it.
struct BuildWorkDirectory {
    let id: String
    let path: String
    private let lockFD: Int32

    var upper: String { path + "/upper" }
    var work: String { path + "/work" }

    init(root: String) throws {
        let parent = root + "/build-work"
        if mkdir(parent, 0o700) != 0 && errno != EEXIST {
            throw BatonError(.setupFailed, "cannot create \(parent): \(String(cString: strerror(errno)))")
        }
        Self.sweep(parent)
        id = String(UInt64.random(in: 0...UInt64.max) & 0xffff_ffff_ffff, radix: 16)
        let path = parent + "/" + id
        self.path = path
        do throws(OSError) {
            try sys("mkdir \(path)") { mkdir(path, 0o700) }
            try sys("mkdir \(path)/upper") { mkdir(path + "/upper", 0o755) }
            // The upper dir's root is the sandbox's `/`: 0755 whatever the umask.
            try sys("chmod \(path)/upper") { chmod(path + "/upper", 0o755) }
            try sys("mkdir \(path)/work") { mkdir(path + "/work", 0o700) }
            lockFD = try sys("open \(path)") { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        } catch {
            try? DirectoryTree.remove(path)
            throw BatonError(.setupFailed, "cannot prepare the build step's directory: \(error.description)", cause: error)
        }
        _ = flock(lockFD, LOCK_EX | LOCK_NB)
    }

    /// Makes the directory `path` (absolute, in the image) and its missing parents in the
    /// upper dir, so a RUN can start in a WORKDIR no layer has yet. Parents the image has keep
    /// their permission bits.
    func makeDirectory(_ path: String, image: ImageTree) throws {
        let wanted = path.split(separator: "/").joined(separator: "/")
        if wanted.isEmpty || image.exists(wanted) { return }
        var relative = ""
        for component in path.split(separator: "/") {
            relative = relative.isEmpty ? String(component) : relative + "/" + component
            if image.exists(relative) && image.directoryPermissions(relative) == nil { return }
            let target = upper + "/" + relative
            guard mkdir(target, 0o755) == 0 || errno == EEXIST else {
                throw BatonError(.setupFailed, "cannot create \(target): \(String(cString: strerror(errno)))")
            }
            chmod(target, mode_t(image.directoryPermissions(relative) ?? 0o755))
        }
    }

    func remove() {
        try? DirectoryTree.remove(path)
        close(lockFD)
    }

    /// A directory younger than this may be another build's between its mkdir and its flock.
    static let staleAfterSeconds = 60

    /// Removes the directories of builds that died (their lock is free).
    private static func sweep(_ parent: String) {
        for name in (try? DirectoryListing.names(parent)) ?? [] {
            let path = parent + "/" + name
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0, time(nil) - info.st_ctim.tv_sec > staleAfterSeconds else { continue }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { try? DirectoryTree.remove(path) }
        }
    }
}
