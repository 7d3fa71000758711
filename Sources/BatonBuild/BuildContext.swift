import BatonOS
import Glibc

/// The directory COPY reads from. A source is a path relative to it; symlinks on the way are
/// followed only while they stay inside it, so a context cannot hand a build `/etc/shadow`
/// or `../secrets` (a symlink *inside* a copied directory is copied as a symlink).
struct BuildContext {
    /// Absolute.
    let directory: String

    init(directory: String) throws {
        let absolute = PathName.absolute(directory)
        guard PathName.isDirectory(absolute) else {
            throw BatonError(.notFound, "build context \(directory) is not a directory")
        }
        self.directory = absolute
    }

    /// What is wrong with a COPY source as written, before the context is read.
    static func sourceProblem(_ source: String) -> String? {
        if source.hasPrefix("/") { return "sources are paths inside the build context, not absolute paths" }
        if source.split(separator: "/").contains("..") { return "'..' would leave the build context" }
        if source.contains("*") || source.contains("?") { return "wildcards are not supported: name the files, or a directory" }
        if source.isEmpty { return "empty source" }
        return nil
    }

    /// The host path of `source`, its symlinks resolved inside the context.
    func resolve(_ source: String) throws(Problem) -> String {
        var pending = source.split(separator: "/").map(String.init)[...]
        var resolved: [String] = []
        var hops = 0
        while let component = pending.popFirst() {
            if component == "." || component.isEmpty { continue }
            if component == ".." {
                guard !resolved.isEmpty else { throw Problem("\(source) leads outside the build context through a symlink") }
                resolved.removeLast()
                continue
            }
            let path = ([directory] + resolved + [component]).joined(separator: "/")
            var info = stat()
            guard lstat(path, &info) == 0 else {
                throw Problem(errno == ENOENT ? "\(source) is not in the build context \(directory)" : "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            guard (info.st_mode & S_IFMT) == S_IFLNK else {
                resolved.append(component)
                continue
            }
            hops += 1
            guard hops <= 40, let target = try? PathName.readLink(path) else { throw Problem("\(source): too many symlinks") }
            if target.hasPrefix("/") {
                throw Problem("\(source) is a symlink to \(target), outside the build context")
            }
            pending = target.split(separator: "/").map(String.init)[...] + pending
        }
        return ([directory] + resolved).joined(separator: "/")
    }

    struct Problem: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }
}
