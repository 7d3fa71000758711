import Glibc

/// A directory's entry names without "." and "..", in byte order, so callers never depend on
/// the order the file system returns them. Plain readdir: this is on the sandbox start path,
/// where FileManager's generic machinery costs more than the listing itself.
public enum DirectoryListing {
    public static func names(_ path: String) throws(OSError) -> [String] {
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
}
