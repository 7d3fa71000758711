import BatonOS
import Glibc

/// The certificate store's files: directories 0700, files 0600, each file written whole to a
/// temporary name beside it, fsynced and renamed into place (then the directory fsynced), so a
/// crash leaves the old file or the new one and never half a key. Reads are size-capped: a
/// file under the root is ours, but a hand edit must not make the daemon read gigabytes.
enum KeyFile {
    static let maxBytes = 4 << 20

    static func makeDirectory(_ path: String) throws(OSError) {
        if mkdir(path, 0o700) != 0 {
            guard errno == EEXIST else { throw OSError("mkdir \(path)", errno: errno) }
            guard PathName.isDirectory(path) else { throw OSError("mkdir \(path)", errno: ENOTDIR) }
        }
        // An existing directory made by an older version or by hand is made private again.
        try sys("chmod \(path)") { chmod(path, 0o700) }
    }

    static func write(_ text: String, to path: String) throws(OSError) {
        let temp = "\(path).tmp-\(UInt64.random(in: 0...UInt64.max))"
        let fd = try sys("open \(temp)") { open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
        do throws(OSError) {
            defer { close(fd) }
            // The umask could only remove bits; fchmod makes the mode exact whatever it is.
            try sys("fchmod \(temp)") { fchmod(fd, 0o600) }
            var bytes = Array(text.utf8)[...]
            while !bytes.isEmpty {
                let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                if written < 0 {
                    if errno == EINTR { continue }
                    throw OSError("write \(temp)", errno: errno)
                }
                bytes = bytes.dropFirst(written)
            }
            try sys("fsync \(temp)") { fsync(fd) }
            try sys("rename \(temp)") { rename(temp, path) }
        } catch {
            unlink(temp)
            throw error
        }
        syncDirectory(PathName.parent(of: path))
    }

    /// The file's text, or nil when there is none.
    static func read(_ path: String) throws(OSError) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw OSError("open \(path)", errno: errno)
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw OSError("read \(path)", errno: errno)
            }
            if count == 0 { break }
            bytes += chunk[..<count]
            guard bytes.count <= maxBytes else { throw OSError("read \(path)", errno: EFBIG) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Removes `path`; false when it was not there.
    static func remove(_ path: String) throws(OSError) -> Bool {
        if unlink(path) != 0 {
            if errno == ENOENT { return false }
            throw OSError("unlink \(path)", errno: errno)
        }
        syncDirectory(PathName.parent(of: path))
        return true
    }

    /// The `.pem` files of `directory` (none when it does not exist); temporary files a crash
    /// left behind are removed on the way.
    static func pemFiles(in directory: String) throws(OSError) -> [String] {
        guard PathName.isDirectory(directory) else { return [] }
        var files: [String] = []
        for name in try DirectoryListing.names(directory) {
            if name.contains(".tmp-") {
                unlink(directory + "/" + name)
            } else if name.hasSuffix(".pem") {
                files.append(name)
            }
        }
        return files
    }

    private static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}
