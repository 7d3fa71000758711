import BatonOS
import Glibc

/// What walking a tree needs besides listing it (`DirectoryListing`, in byte order so a layer
/// does not depend on the order the file system returns names) and reading links
/// (`PathName.readLink`).
enum TreeWalker {
    static func lstatPath(_ path: String) throws -> stat {
        var info = stat()
        try sys("lstat \(path)") { lstat(path, &info) }
        return info
    }
}
