import BatonOS
import FoundationEssentials
import Glibc

/// Writes one layer in one pass: files are read, tarred, hashed and written to the ingest file
/// as they stream through. Entries come out in the order they are added; callers add them in
/// sorted order so the same tree always gives the same bytes.
final class LayerStream {
    private let ingest: BlobIngest
    private var writer: TarWriter!
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    private let progress: ((Int64) -> Void)?
    /// Entries written so far.
    private(set) var entryCount = 0

    init(_ layout: StoreLayout, hashOnly: Bool = false, progress: ((Int64) -> Void)?) throws {
        ingest = try BlobIngest(layout, hashOnly: hashOnly)
        self.progress = progress
        let ingest = self.ingest
        writer = try TarWriter { chunk in
            try ingest.write(chunk)
            progress?(ingest.size)
        }
    }

    deinit { buffer.deallocate() }

    func addDirectory(_ archivePath: String, permissions: UInt32) throws {
        try writer.writeHeader(path: archivePath, kind: .directory, permissions: permissions)
        entryCount += 1
    }

    func addSymlink(_ archivePath: String, target: String) throws {
        try writer.writeHeader(path: archivePath, kind: .symlink(target: target), permissions: 0o777)
        entryCount += 1
    }

    func addBytes(_ archivePath: String, _ bytes: [UInt8], permissions: UInt32 = 0o644) throws {
        try writer.writeHeader(path: archivePath, kind: .file(size: Int64(bytes.count)), permissions: permissions)
        try bytes.withUnsafeBytes { try writer.writeData($0) }
        entryCount += 1
    }

    /// Adds the regular file at `path` (symlinks are not followed unless `follow`), with its
    /// own permission bits or `permissions`.
    func addFile(_ archivePath: String, from path: String, follow: Bool = false, permissions: UInt32? = nil) throws {
        let fd = try FileIO.open(path, O_RDONLY | (follow ? 0 : O_NOFOLLOW))
        defer { close(fd) }
        var info = stat()
        try sys("fstat \(path)") { fstat(fd, &info) }
        let size = Int64(info.st_size)
        try writer.writeHeader(path: archivePath, kind: .file(size: size), permissions: permissions ?? UInt32(info.st_mode) & 0o7777)
        var remaining = size
        while remaining > 0 {
            let want = Int(min(Int64(buffer.count), remaining))
            let count = try sys("read \(path)") { read(fd, buffer.baseAddress, want) }
            if count == 0 {
                throw BatonError(.conflict, "\(path) shrank while it was being published; publish again once it is stable")
            }
            try writer.writeData(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            remaining -= Int64(count)
        }
        entryCount += 1
    }

    /// Adds everything under `directory` (not the directory itself) beneath `prefix`, depth
    /// first in byte order of names. `skip` leaves out an entry (and all beneath it).
    func addTree(_ directory: String, prefix: String, skip: (String) -> Bool = { _ in false }) throws {
        try addEntries(under: directory, prefix: prefix, skip: skip, afterDirectory: { _, _ in }) { entry in
            throw BatonError(.invalidArgument,
                "cannot publish \(entry.path): sockets, FIFOs and device nodes cannot go into an artifact; remove it or publish a directory without it")
        }
    }

    /// The walk behind `addTree` and `LayerBuilder.addOverlayUpper`: directories, regular files
    /// and symlinks under `directory` are added as they are, depth first in byte order of
    /// names. `afterDirectory(path, archivePath)` may add entries right after a directory's own
    /// (an overlay's opaque marker); `special` adds or refuses every other kind of entry.
    func addEntries(
        under directory: String, prefix: String, skip: (String) -> Bool,
        afterDirectory: (_ path: String, _ archivePath: String) throws -> Void,
        special: (SpecialTreeEntry) throws -> Void
    ) throws {
        for name in try DirectoryListing.names(directory) {
            let path = directory + "/" + name
            let archivePath = prefix.isEmpty ? name : prefix + "/" + name
            if skip(archivePath) { continue }
            let info = try TreeWalker.lstatPath(path)
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                try addDirectory(archivePath, permissions: UInt32(info.st_mode) & 0o7777)
                try afterDirectory(path, archivePath)
                try addEntries(under: path, prefix: archivePath, skip: skip, afterDirectory: afterDirectory, special: special)
            case S_IFREG:
                try addFile(archivePath, from: path)
            case S_IFLNK:
                try addSymlink(archivePath, target: try PathName.readLink(path))
            default:
                try special(SpecialTreeEntry(name: name, prefix: prefix, path: path, archivePath: archivePath, info: info))
            }
        }
    }

    /// Ends the tar stream. The layer blob is hashed but not yet in the store: the caller
    /// commits it once it knows the artifact may be bound.
    func finish() throws -> PendingLayer {
        try writer.finish()
        return PendingLayer(ingest: ingest, descriptor: Descriptor(mediaType: MediaType.layerTar, digest: ingest.digest, size: ingest.size))
    }
}

/// An entry of a tree being added that is not a directory, regular file or symlink (a
/// device node, socket or FIFO): `name` in the archive directory `prefix`, at `archivePath`.
struct SpecialTreeEntry {
    let name: String
    let prefix: String
    let path: String
    let archivePath: String
    let info: stat
}

/// A layer written and hashed, waiting in `store/ingest` to be committed.
struct PendingLayer {
    let ingest: BlobIngest
    let descriptor: Descriptor

    /// Renames the blob into the store; returns the bytes added (0 if it was there).
    func commit() throws -> Int64 {
        try ingest.commit(what: "layer").added ? descriptor.size : 0
    }
}
