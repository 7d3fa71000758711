import BatonOS
import CArchive
import Crypto
import Glibc

/// One tar entry as read, before any policy is applied to it.
struct TarEntry {
    enum Kind: Equatable {
        case file, directory, symlink, hardlink, charDevice, blockDevice, fifo, socket, other
    }

    var path: String
    var kind: Kind
    var permissions: UInt32
    var uid: UInt32
    var gid: UInt32
    var size: Int64
    var mtime: Int
    /// The symlink target, or the hard link's target path.
    var linkTarget: String?
}

/// Reads a tar stream (optionally compressed) from a file with libarchive, hashing every byte
/// read from the file, so a blob is verified in the same pass that unpacks it.
final class TarReader {
    private final class Source {
        let fd: Int32
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 16)
        var hasher = SHA256()
        var bytesRead: Int64 = 0
        var error: OSError?
        init(fd: Int32) { self.fd = fd }
        deinit { buffer.deallocate() }

        func fill() -> Int {
            do {
                let count = try sys("read") { read(fd, buffer, 1 << 20) }
                hasher.update(bufferPointer: UnsafeRawBufferPointer(start: buffer, count: count))
                bytesRead += Int64(count)
                return count
            } catch {
                self.error = error
                return -1
            }
        }
    }

    let path: String
    private let fd: Int32
    private let archive: OpaquePointer
    private let source: Source

    init(path: String) throws {
        try TarWriter.requireLibarchive()
        self.path = path
        fd = try FileIO.open(path, O_RDONLY)
        source = Source(fd: fd)
        guard let archive = bt_tar_reader_new() else {
            close(fd)
            throw BatonError(.internal, "libarchive: cannot create a tar reader")
        }
        self.archive = archive
        let context = Unmanaged.passUnretained(source).toOpaque()
        let status = archive_read_open2(archive, context, nil, { _, context, buffer in
            let source = Unmanaged<Source>.fromOpaque(context!).takeUnretainedValue()
            buffer!.pointee = UnsafeRawPointer(source.buffer)
            return source.fill()
        }, nil, nil)
        if status != ARCHIVE_OK {
            // deinit frees the archive and closes the file: every property is set by now.
            let message = TarWriter.message(archive)
            throw BatonError(.corrupt, "\(path) is not a readable tar archive: \(message)")
        }
    }

    deinit {
        archive_read_free(archive)
        close(fd)
    }

    /// The next entry's header, or nil at the end of the archive.
    func next() throws -> TarEntry? {
        var header: OpaquePointer?
        let status = archive_read_next_header(archive, &header)
        if status == ARCHIVE_EOF { return nil }
        guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let header else { try fail("reading a header") }
        let path = archive_entry_pathname_utf8(header).map { String(cString: $0) }
            ?? archive_entry_pathname(header).map { String(cString: $0) } ?? ""
        let kind: TarEntry.Kind
        switch UInt32(bt_entry_kind(header)) {
        case BT_ENTRY_FILE.rawValue: kind = .file
        case BT_ENTRY_DIRECTORY.rawValue: kind = .directory
        case BT_ENTRY_SYMLINK.rawValue: kind = .symlink
        case BT_ENTRY_HARDLINK.rawValue: kind = .hardlink
        case BT_ENTRY_CHAR_DEVICE.rawValue: kind = .charDevice
        case BT_ENTRY_BLOCK_DEVICE.rawValue: kind = .blockDevice
        case BT_ENTRY_FIFO.rawValue: kind = .fifo
        case BT_ENTRY_SOCKET.rawValue: kind = .socket
        default: kind = .other
        }
        let link = kind == .hardlink
            ? archive_entry_hardlink_utf8(header) ?? archive_entry_hardlink(header)
            : archive_entry_symlink_utf8(header) ?? archive_entry_symlink(header)
        return TarEntry(
            path: path, kind: kind, permissions: UInt32(bt_entry_permissions(header)),
            uid: UInt32(truncatingIfNeeded: archive_entry_uid(header)),
            gid: UInt32(truncatingIfNeeded: archive_entry_gid(header)),
            size: archive_entry_size(header), mtime: Int(archive_entry_mtime(header)),
            linkTarget: link.map { String(cString: $0) }
        )
    }

    /// Streams the current entry's data into `consume`.
    func readData(_ consume: (UnsafeRawBufferPointer) throws -> Void) throws {
        var block: UnsafeRawPointer?
        var size = 0
        var offset: Int64 = 0
        while true {
            let status = archive_read_data_block(archive, &block, &size, &offset)
            if status == ARCHIVE_EOF { return }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN else { try fail("reading entry data") }
            if size > 0 { try consume(UnsafeRawBufferPointer(start: block, count: size)) }
        }
    }

    /// Reads the current entry's data into memory (index.json and the like), up to `limit`.
    func readAll(limit: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try readData { buffer in
            bytes.append(contentsOf: buffer)
            if bytes.count > limit { throw BatonError(.corrupt, "\(path): an entry is larger than \(limit) bytes") }
        }
        return bytes
    }

    /// Reads whatever libarchive left unread (padding after the end marker), then returns the
    /// digest and size of every byte of the file.
    func finishHashing() throws -> (digest: Digest, size: Int64) {
        while true {
            let count = source.fill()
            if count < 0 { throw source.error ?? OSError("read \(path)", errno: EIO) }
            if count == 0 { break }
        }
        return (Digest(source.hasher.finalize()), source.bytesRead)
    }

    private func fail(_ what: String) throws -> Never {
        if let error = source.error { throw error }
        throw BatonError(.corrupt, "\(path): \(what) failed: \(TarWriter.message(archive)) (truncated or corrupt archive?)")
    }
}
