import BatonOS
import Glibc

/// A file the operator names to the CLI (a secret's value, smoke checks, a certificate): the
/// CLI reads it whole and sends its contents, so the daemon never opens an operator's paths.
/// A path that is not a regular file (a FIFO, a device, a directory) or that is larger than
/// the bound is refused with one error naming `what` it was meant to be.
enum OperatorFile {
    /// The bytes of the regular file at `path`, at most `limit` of them; past that the error
    /// says the file "is larger than `tooLarge`".
    static func bytes(_ path: String, what: String, limit: Int, tooLarge: String) throws(BatonError) -> [UInt8] {
        // O_NONBLOCK: opening a FIFO must not hang the CLI before the regular-file check.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw failure(path, what, errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure(path, what, errno) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw BatonError(.invalidArgument, "\(what) \(path) is not a regular file")
        }
        // One byte past the bound tells a file at the bound from a larger one.
        var bytes = [UInt8](repeating: 0, count: limit + 1)
        var count = 0
        while count < bytes.count {
            let n = bytes[count...].withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw failure(path, what, errno) }
            if n == 0 { break }
            count += n
        }
        guard count <= limit else { throw BatonError(.invalidArgument, "\(what) \(path) is larger than \(tooLarge)") }
        return Array(bytes[..<count])
    }

    /// The same, as UTF-8 text.
    static func text(_ path: String, what: String, limit: Int, tooLarge: String) throws(BatonError) -> String {
        let bytes = try bytes(path, what: what, limit: limit, tooLarge: tooLarge)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw BatonError(.invalidArgument, "\(what) \(path) is not UTF-8 text")
        }
        return text
    }

    private static func failure(_ path: String, _ what: String, _ code: Int32) -> BatonError {
        BatonError(code == ENOENT ? .notFound : .invalidArgument,
                   "cannot read \(what) \(path): \(String(cString: strerror(code))) (errno \(code))")
    }
}
