import BatonOS
import Glibc

/// Lists a directory's entries in byte order of their names, so the layer written from a tree
/// does not depend on the order the file system returns them.
enum TreeWalker {
    static func sortedNames(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw OSError("opendir \(path)", errno: errno) }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: &entry.pointee.d_name) { raw in
                Array(raw.prefix { $0 != 0 })
            }
            if name == [0x2e] || name == [0x2e, 0x2e] { continue }
            names.append(name)
        }
        return names.sorted { $0.lexicographicallyPrecedes($1) }.map { String(decoding: $0, as: UTF8.self) }
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
