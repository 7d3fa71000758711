import BatonOS
import CArchive

/// Writes a tar stream through libarchive into `sink`, one entry at a time. Every entry gets the
/// same normalised metadata: owner 0:0 with no user or group names, mtime 0, no atime/ctime,
/// no xattrs. Only the path, kind, permission bits, size and link target vary.
final class TarWriter {
    /// Where libarchive's blocks go; holds the first error so the C callback can report -1.
    private final class Sink {
        let consume: (UnsafeRawBufferPointer) throws -> Void
        var error: (any Error)?
        init(_ consume: @escaping (UnsafeRawBufferPointer) throws -> Void) { self.consume = consume }
    }

    private let archive: OpaquePointer
    private let sink: Sink
    private let entry: OpaquePointer
    private var finished = false

    init(sink consume: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        try Self.requireLibarchive()
        guard let archive = bt_tar_writer_new(), let entry = archive_entry_new() else {
            throw BatonError(.internal, "libarchive: cannot create a tar writer")
        }
        self.archive = archive
        self.entry = entry
        sink = Sink(consume)
        let context = Unmanaged.passUnretained(sink).toOpaque()
        let status = archive_write_open2(archive, context, nil, { _, context, buffer, length in
            let sink = Unmanaged<Sink>.fromOpaque(context!).takeUnretainedValue()
            do {
                try sink.consume(UnsafeRawBufferPointer(start: buffer, count: length))
                return length
            } catch {
                sink.error = error
                return -1
            }
        }, nil, nil)
        if status != ARCHIVE_OK {
            // deinit frees the archive and the entry: every property is set by now.
            throw BatonError(.internal, "libarchive: cannot open tar writer: \(TarWriter.message(archive))")
        }
    }

    deinit {
        if !finished { archive_write_free(archive) }
        archive_entry_free(entry)
    }

    enum Kind {
        case file(size: Int64)
        case directory
        case symlink(target: String)
    }

    func writeHeader(path: String, kind: Kind, permissions: UInt32) throws {
        archive_entry_clear(entry)
        archive_entry_copy_pathname(entry, path)
        archive_entry_set_perm(entry, mode_t(permissions & 0o7777))
        archive_entry_set_uid(entry, 0)
        archive_entry_set_gid(entry, 0)
        archive_entry_set_mtime(entry, 0, 0)
        switch kind {
        case .file(let size):
            bt_entry_set_kind(entry, Int32(BT_ENTRY_FILE.rawValue))
            archive_entry_set_size(entry, size)
        case .directory:
            bt_entry_set_kind(entry, Int32(BT_ENTRY_DIRECTORY.rawValue))
            archive_entry_set_size(entry, 0)
        case .symlink(let target):
            bt_entry_set_kind(entry, Int32(BT_ENTRY_SYMLINK.rawValue))
            archive_entry_copy_symlink(entry, target)
            archive_entry_set_size(entry, 0)
        }
        // ARCHIVE_WARN: the header was written (e.g. a name with no UTF-8 form, stored as bytes).
        let status = archive_write_header(archive, entry)
        if status != ARCHIVE_OK && status != ARCHIVE_WARN { try fail("write header for \(path)", status) }
    }

    /// Writes entry data (or, for the OCI archive writer, blob bytes).
    func writeData(_ buffer: UnsafeRawBufferPointer) throws {
        guard buffer.count > 0 else { return }
        let written = archive_write_data(archive, buffer.baseAddress, buffer.count)
        if written < 0 { try fail("write data", Int32(written)) }
    }

    /// Writes the end-of-archive marker and flushes the last block into the sink.
    func finish() throws {
        let status = archive_write_close(archive)
        finished = true
        archive_write_free(archive)
        if status != ARCHIVE_OK {
            if let error = sink.error { throw error }
            throw BatonError(.internal, "libarchive: closing tar stream failed")
        }
    }

    private func fail(_ what: String, _ status: Int32) throws -> Never {
        if let error = sink.error { throw error }
        throw BatonError(.internal, "libarchive: \(what): \(TarWriter.message(archive))")
    }

    static func message(_ archive: OpaquePointer) -> String {
        archive_error_string(archive).map { String(cString: $0) } ?? "unknown error"
    }
}

extension TarWriter {
    /// Throws a clear error when libarchive cannot be loaded, before any call into it.
    static func requireLibarchive() throws {
        if let reason = bt_archive_load_error() {
            throw BatonError(.unavailable, "cannot load libarchive.so.13 (\(String(cString: reason))): run scripts/setup, or apt-get install libarchive13")
        }
    }
}
