import Glibc

/// Walks a directory tree that someone else filled (an app's volume) by descriptors, never
/// following a symbolic link: a link the app planted is removed or skipped as a link, so no
/// walk can be steered outside the tree. Entry names are used as the bytes they are (an app
/// may write names that are not UTF-8).
public enum DirectoryTree {
    /// Removes the directory `path` and everything beneath it. A missing `path` is no error.
    public static func remove(_ path: String) throws(OSError) {
        let parent = try sys("open \(PathName.parent(of: path))") {
            open(PathName.parent(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        }
        defer { close(parent) }
        let name = Array(PathName.lastComponent(of: path).utf8CString)
        guard let kind = try kind(of: name, in: parent, path: path) else { return }
        guard kind == S_IFDIR else { throw OSError("remove \(path): not a directory", errno: ENOTDIR) }
        try removeDirectory(name, in: parent, path: path)
    }

    /// The bytes of the regular files beneath `path` (a file that vanishes meanwhile counts 0).
    public static func size(_ path: String) throws(OSError) -> Int64 {
        let fd = try sys("open \(path)") { open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        defer { close(fd) }
        return try size(of: fd, path: path)
    }

    private static func size(of directory: Int32, path: String) throws(OSError) -> Int64 {
        var total: Int64 = 0
        for name in try names(in: directory, path: path) {
            let childPath = path + "/" + printable(name)
            var info = stat()
            guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                if errno == ENOENT { continue }
                throw OSError("stat \(childPath)", errno: errno)
            }
            switch info.st_mode & S_IFMT {
            case S_IFREG:
                total += Int64(info.st_size)
            case S_IFDIR:
                let child = openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard child >= 0 else {
                    if errno == ENOENT { continue }
                    throw OSError("open \(childPath)", errno: errno)
                }
                defer { close(child) }
                total += try size(of: child, path: childPath)
            default:
                continue
            }
        }
        return total
    }

    private static func removeDirectory(_ name: [CChar], in parent: Int32, path: String) throws(OSError) {
        let fd = try sys("open \(path)") { openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        do {
            defer { close(fd) }
            for child in try names(in: fd, path: path) {
                let childPath = path + "/" + printable(child)
                if try kind(of: child, in: fd, path: childPath) == S_IFDIR {
                    try removeDirectory(child, in: fd, path: childPath)
                } else {
                    try sys("unlink \(childPath)") { unlinkat(fd, child, 0) }
                }
            }
        }
        try sys("rmdir \(path)") { unlinkat(parent, name, AT_REMOVEDIR) }
    }

    /// The file type bits of `name` in `directory` (a link is a link), nil when it is gone.
    private static func kind(of name: [CChar], in directory: Int32, path: String) throws(OSError) -> mode_t? {
        var info = stat()
        guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return nil }
            throw OSError("stat \(path)", errno: errno)
        }
        return info.st_mode & S_IFMT
    }

    /// Entry names of an open directory (NUL-terminated), read through a descriptor of its own.
    private static func names(in directory: Int32, path: String) throws(OSError) -> [[CChar]] {
        let copy = try sys("dup \(path)") { dup(directory) }
        guard let stream = fdopendir(copy) else {
            let code = errno
            close(copy)
            throw OSError("opendir \(path)", errno: code)
        }
        defer { closedir(stream) }
        rewinddir(stream)
        var names: [[CChar]] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: &entry.pointee.d_name) { raw in
                raw.prefix { $0 != 0 }.map { CChar(bitPattern: $0) }
            }
            if name != [0x2e] && name != [0x2e, 0x2e] { names.append(name + [0]) }
        }
        return names
    }

    /// A name for messages (bytes that are not UTF-8 shown as U+FFFD).
    private static func printable(_ name: [CChar]) -> String {
        String(decoding: name.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
