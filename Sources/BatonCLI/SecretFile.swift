import BatonControl
import BatonOS
import Glibc

/// A secret's value read from a file by the CLI (`--secret-file K=PATH`, an apply file's
/// `{ file: PATH }`): the daemon never opens an operator's paths, it gets the value. The file's
/// bytes are the value exactly, a trailing newline included. No message repeats them.
enum SecretFile {
    /// `K=PATH` split, or nil.
    static func parse(_ entry: String) -> (name: String, path: String)? {
        guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex, entry.index(after: equals) != entry.endIndex else {
            return nil
        }
        return (String(entry[..<equals]), String(entry[entry.index(after: equals)...]))
    }

    /// `K=VALUE` for each `K=PATH`, each file read whole.
    static func entries(_ flags: [String]) throws(BatonError) -> [String] {
        var entries: [String] = []
        for flag in flags {
            guard let (name, path) = parse(flag) else {
                throw BatonError(.invalidArgument, "invalid --secret-file '\(flag)': use KEY=PATH")
            }
            entries.append(name + "=" + (try read(path)))
        }
        return entries
    }

    /// The contents of the regular file at `path`, refused past `AppConfig.maxValueBytes` or
    /// when not UTF-8 text.
    static func read(_ path: String) throws(BatonError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw failure(path, errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure(path, errno) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw BatonError(.invalidArgument, "secret file \(path) is not a regular file")
        }
        let limit = AppConfig.maxValueBytes
        var bytes = [UInt8](repeating: 0, count: limit + 1)
        var count = 0
        while count < bytes.count {
            let n = bytes[count...].withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw failure(path, errno) }
            if n == 0 { break }
            count += n
        }
        guard count <= limit else {
            throw BatonError(.invalidArgument, "secret file \(path) is larger than \(limit) bytes (64 KiB)")
        }
        guard let text = String(validating: bytes[..<count], as: UTF8.self) else {
            throw BatonError(.invalidArgument, "secret file \(path) is not UTF-8 text")
        }
        return text
    }

    private static func failure(_ path: String, _ code: Int32) -> BatonError {
        BatonError(code == ENOENT ? .notFound : .invalidArgument,
                   "cannot read secret file \(path): \(String(cString: strerror(code))) (errno \(code))")
    }
}
