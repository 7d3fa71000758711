import BatonOS
import Glibc

/// Lists a directory's entries in byte order of their names, so the layer written from a tree
/// does not depend on the order the file system returns them.
enum TreeWalker {
    static func sortedNames(_ path: String) throws -> [String] {
        try DirectoryListing.names(path)
    }

    static func lstatPath(_ path: String) throws -> stat {
        var info = stat()
        try sys("lstat \(path)") { lstat(path, &info) }
        return info
    }

    static func readLink(_ path: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = try sys("readlink \(path)") { readlink(path, &buffer, buffer.count - 1) }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
