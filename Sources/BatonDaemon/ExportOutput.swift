import BatonCommandLine
import BatonExport
import BatonOS
import Glibc

/// Where an export goes: stdout, or files written whole beside their destination and renamed
/// into place once every one is written, so a failure leaves what was there before.
enum ExportOutput {
    /// Every file on stdout, as one stream of YAML documents.
    static func print(_ files: [ExportFile]) {
        let text = files.map(\.text).joined(separator: "---\n")
        StandardStream.write(text, to: STDOUT_FILENO)
    }

    /// `-o DIR` of `export k8s`: absent, or a directory.
    static func directory(_ path: String) throws -> Directory {
        let absolute = PathName.absolute(path)
        var info = stat()
        if lstat(absolute, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw BatonError(.invalidArgument, "-o \(path) exists and is not a directory: name a directory (it is created if absent)")
            }
        } else if errno != ENOENT {
            throw BatonError(.invalidArgument, "-o \(path): \(String(cString: strerror(errno)))")
        }
        let parent = PathName.parent(of: absolute)
        guard stat(parent, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw BatonError(.invalidArgument, "-o \(path): its parent \(parent) is not a directory")
        }
        return Directory(path: absolute)
    }

    /// `-o FILE` of `export compose`: absent, or a regular file.
    static func file(_ path: String) throws -> File {
        let absolute = PathName.absolute(path)
        var info = stat()
        if lstat(absolute, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
            throw BatonError(.invalidArgument, "-o \(path) exists and is not a regular file")
        }
        let parent = PathName.parent(of: absolute)
        guard stat(parent, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw BatonError(.invalidArgument, "-o \(path): its parent \(parent) is not a directory")
        }
        return File(path: absolute)
    }

    struct Directory {
        let path: String

        /// Writes into a fresh directory beside `path`; renames it to `path` when that is
        /// absent, else renames each file over its namesake in `path` (other files stay).
        func write(_ files: [ExportFile]) throws {
            let staging = try Self.makeStaging(near: path)
            do {
                for file in files {
                    try ExportOutput.makeParents(of: file.path, under: staging)
                    try ExportOutput.writeWhole(staging + "/" + file.path, file.text)
                }
                if rename(staging, path) == 0 { return }
                guard errno == EEXIST || errno == ENOTEMPTY else { throw OSError("rename \(staging) \(path)", errno: errno) }
                for file in files {
                    try ExportOutput.makeParents(of: file.path, under: path)
                    try sys("rename \(file.path) into \(path)") { rename(staging + "/" + file.path, path + "/" + file.path) }
                }
                try? DirectoryTree.remove(staging)
            } catch {
                try? DirectoryTree.remove(staging)
                throw BatonError(.setupFailed, "cannot write the export to \(path): \(error)", cause: error)
            }
        }

        private static func makeStaging(near path: String) throws -> String {
            var template = Array((path + ".export-XXXXXX").utf8CString)
            let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
            guard let made else { throw BatonError(.setupFailed, "cannot create a directory beside \(path): \(String(cString: strerror(errno)))") }
            _ = chmod(made, 0o755)
            return String(cString: made)
        }
    }

    struct File {
        let path: String

        func write(_ text: String) throws {
            let temporary = path + ".export-\(getpid())"
            do {
                try ExportOutput.writeWhole(temporary, text)
                try sys("rename \(temporary) \(path)") { rename(temporary, path) }
            } catch {
                unlink(temporary)
                throw BatonError(.setupFailed, "cannot write \(path): \(error)", cause: error)
            }
        }
    }

    /// Creates the directories of a relative `file` under `base` (`secrets/`).
    static func makeParents(of file: String, under base: String) throws {
        let parts = file.split(separator: "/").dropLast()
        var directory = base
        for part in parts {
            directory += "/" + part
            if mkdir(directory, 0o755) != 0 && errno != EEXIST { throw OSError("mkdir \(directory)", errno: errno) }
        }
    }

    /// Creates `path` (0644: the files hold no secret) and writes and syncs `text`.
    static func writeWhole(_ path: String, _ text: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw OSError("open \(path)", errno: errno) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw OSError("write \(path)", errno: errno) }
            offset += written
        }
        try sys("fsync \(path)") { fsync(fd) }
    }
}
