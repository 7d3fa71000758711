import BatonOS
import Crypto
import Glibc

/// Reads a file in chunks while hashing it, for copying a blob and verifying it in one pass.
final class HashingFileReader {
    private let fd: Int32
    private let path: String
    private var hasher = SHA256()
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)

    init(path: String) throws {
        self.path = path
        fd = try FileIO.open(path, O_RDONLY)
    }

    deinit {
        close(fd)
        buffer.deallocate()
    }

    /// Passes up to `limit` bytes to `body`, then fails if the file was shorter.
    func forEachChunk(limit: Int64, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var remaining = limit
        while remaining > 0 {
            let want = Int(min(Int64(buffer.count), remaining))
            let count = try sys("read \(path)") { read(fd, buffer.baseAddress, want) }
            guard count > 0 else { throw BatonError(.corrupt, "\(path) is shorter than its descriptor says") }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
            hasher.update(bufferPointer: chunk)
            try body(chunk)
            remaining -= Int64(count)
        }
    }

    var digest: Digest { Digest(hasher.finalize()) }
}
