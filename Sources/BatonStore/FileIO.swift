import BatonOS
import FoundationEssentials
import Glibc

/// Small file-system helpers over `sys(...)`, so every failure names its operation and path.
enum FileIO {
    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0) throws -> Int32 {
        try sys("open \(path)") { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    /// Reads a whole file of at most `limit` bytes (manifests, configs, index.json).
    static func readAll(_ path: String, limit: Int = 16 << 20) throws -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = try chunk.withUnsafeMutableBytes { buffer in
                try sys("read \(path)") { read(fd, buffer.baseAddress, buffer.count) }
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > limit {
                throw BatonError(.corrupt, "\(path) is larger than \(limit) bytes")
            }
        }
    }

    static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, path: String) throws {
        var offset = 0
        while offset < buffer.count {
            let written = try sys("write \(path)") { write(fd, buffer.baseAddress! + offset, buffer.count - offset) }
            offset += written
        }
    }

    static func fsyncPath(_ path: String) throws {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        try sys("fsync \(path)") { fsync(fd) }
    }

    /// Writes `bytes` to `path` atomically: a temp file beside it, fsync, rename, fsync the dir.
    static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws {
        try replaceAtomically(path, mode: mode) { fd, temp in
            try bytes.withUnsafeBytes { try writeAll(fd, $0, path: temp) }
        }
        try fsyncPath(PathName.parent(of: path))
    }

    /// Creates a temp file beside `path`, lets `write` fill it, fsyncs it and renames it over
    /// `path`. On any failure the temp file is removed and `path` is untouched.
    static func replaceAtomically(_ path: String, mode: mode_t, _ write: (Int32, String) throws -> Void) throws {
        let temp = "\(path).tmp-\(UInt64.random(in: 0...UInt64.max))"
        let fd = try open(temp, O_WRONLY | O_CREAT | O_EXCL, mode)
        do {
            // Closed exactly once, on every path: a second close could hit a descriptor
            // another thread has been given meanwhile.
            defer { close(fd) }
            try write(fd, temp)
            try sys("fsync \(temp)") { fsync(fd) }
        } catch {
            unlink(temp)
            throw error
        }
        do {
            try sys("rename \(temp)") { rename(temp, path) }
        } catch {
            unlink(temp)
            throw error
        }
    }

    /// Creates `path` with `bytes` unless it exists: written aside, then hard-linked into place,
    /// which fails if another process created it first (theirs is kept).
    static func createAtomically(_ bytes: [UInt8], at path: String) throws {
        if exists(path) { return }
        let temp = "\(path).tmp-\(UInt64.random(in: 0...UInt64.max))"
        let fd = try open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        defer { unlink(temp) }
        do {
            try bytes.withUnsafeBytes { try writeAll(fd, $0, path: temp) }
            try sys("fsync \(temp)") { fsync(fd) }
        } catch {
            close(fd)
            throw error
        }
        close(fd)
        if link(temp, path) != 0 && errno != EEXIST {
            throw OSError("link \(path)", errno: errno)
        }
        try fsyncPath(PathName.parent(of: path))
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    static func isRegularFollowing(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// Baton's own directories under the root are 0700 (StateRoot).
    static func makeDirectories(_ path: String, mode: mode_t = 0o700) throws {
        if PathName.isDirectory(path) { return }
        let parent = PathName.parent(of: path)
        if parent != path { try makeDirectories(parent, mode: mode) }
        if mkdir(path, mode) != 0 && errno != EEXIST {
            throw OSError("mkdir \(path)", errno: errno)
        }
    }

    /// Removes a file or a whole tree; a missing path is not an error.
    static func removeTree(_ path: String) {
        guard exists(path) else { return }
        try? FileManager.default.removeItem(atPath: path)
    }

    static func listDirectory(_ path: String) -> [String] {
        (try? DirectoryListing.names(path)) ?? []
    }

    static func fileSize(_ path: String) -> Int64? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return Int64(info.st_size)
    }
}
