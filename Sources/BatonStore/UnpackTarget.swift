import BatonOS
import Glibc

/// The directory a layer is unpacked into. Every operation is relative to a descriptor of its
/// root and walks parent directories with O_NOFOLLOW, so no entry can reach outside through a
/// symlink; parents that do not exist yet are created (mode 0755).
final class UnpackTarget {
    let path: String
    private let rootFD: Int32

    init(path: String) throws {
        self.path = path
        rootFD = try FileIO.open(path, O_RDONLY | O_DIRECTORY)
    }

    deinit { close(rootFD) }

    /// A refusal that names what is wrong; the unpacker adds the entry and the layer.
    struct Refusal: Error {
        let reason: String
    }

    /// Opens the directory holding `entry` (creating missing parents when `create`), refusing a
    /// parent that is a symlink or not a directory. The caller closes the result.
    func openParent(of entry: EntryPath, create: Bool = true) throws -> Int32 {
        var current = fcntl(rootFD, F_DUPFD_CLOEXEC, 0)
        guard current >= 0 else { throw OSError("fcntl F_DUPFD_CLOEXEC", errno: errno) }
        var walked: [String] = []
        for component in entry.parent {
            walked.append(component)
            var next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0 && errno == ENOENT && create {
                if mkdirat(current, component, 0o755) != 0 && errno != EEXIST {
                    let code = errno
                    close(current)
                    throw OSError("mkdir \(walked.joined(separator: "/"))", errno: code)
                }
                next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            if next < 0 {
                let code = errno
                close(current)
                let where_ = walked.joined(separator: "/")
                switch code {
                case ELOOP: throw Refusal(reason: "its path goes through the symlink '\(where_)' (writing through a symlink)")
                case ENOTDIR: throw Refusal(reason: "its parent '\(where_)' is not a directory")
                case ENOENT: throw Refusal(reason: "'\(where_)' does not exist")
                default: throw OSError("open \(where_)", errno: code)
                }
            }
            close(current)
            current = next
        }
        return current
    }

    /// Removes whatever is at `name` in `dir` so an entry can replace it (a later entry wins).
    func removeExisting(_ dir: Int32, _ name: String, relative: EntryPath) throws {
        var info = stat()
        guard fstatat(dir, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            // The parents were walked without following symlinks, so this path stays inside.
            FileIO.removeTree(path + "/" + relative.description)
        } else {
            try sys("unlink \(relative)") { unlinkat(dir, name, 0) }
        }
    }

    func isDirectory(_ dir: Int32, _ name: String) -> Bool {
        var info = stat()
        return fstatat(dir, name, &info, AT_SYMLINK_NOFOLLOW) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    var root: Int32 { rootFD }
}
