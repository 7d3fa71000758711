import BatonOS
import Glibc

/// One layer written entry by entry, for `baton build`: the same normalised tar as publish
/// (owner 0:0, mtime 0, no xattrs), so the same entries in the same order give the same digest.
/// Callers add entries in byte order of their paths. `commit` puts the blob in the store;
/// dropping the builder uncommitted leaves nothing behind.
public final class LayerBuilder {
    let stream: LayerStream

    init(_ layout: StoreLayout) throws {
        stream = try LayerStream(layout, progress: nil)
    }

    /// Entries added so far.
    public var entryCount: Int { stream.entryCount }

    public func addDirectory(_ path: String, permissions: UInt32) throws {
        try stream.addDirectory(path, permissions: permissions)
    }

    /// Adds the regular file at `source` without following a symlink there, with its own
    /// permission bits or `permissions` (COPY --chmod).
    public func addFile(_ path: String, from source: String, permissions: UInt32? = nil) throws {
        try stream.addFile(path, from: source, permissions: permissions)
    }

    public func addSymlink(_ path: String, target: String) throws {
        try stream.addSymlink(path, target: target)
    }

    /// An OCI whiteout: `name` in `directory` ("" for the root) is deleted by this layer.
    public func addWhiteout(_ name: String, in directory: String) throws {
        let entry = LayerUnpacker.whiteoutPrefix + name
        try stream.addBytes(directory.isEmpty ? entry : directory + "/" + entry, [], permissions: 0o600)
    }

    /// An OCI opaque whiteout: the lower layers' contents of `directory` are hidden.
    public func addOpaqueMarker(in directory: String) throws {
        let entry = LayerUnpacker.opaqueWhiteout
        try stream.addBytes(directory.isEmpty ? entry : directory + "/" + entry, [], permissions: 0o600)
    }

    /// Ends the tar stream and moves the blob into the store (kept as it is if it is there).
    public func commit() throws -> Descriptor {
        let layer = try stream.finish()
        _ = try layer.commit()
        return layer.descriptor
    }
}
