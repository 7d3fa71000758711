import BatonOS
import Glibc

/// Unpacks a layer blob into `layers/<hex>`: into a temp name, verifying the blob's digest and
/// size in the same pass, then renamed. Any entry that would land outside the directory
/// (`..`, an absolute path, a write through a symlink, a hard link out) or a device node
/// refuses the whole layer. OCI whiteouts become overlayfs whiteouts.
struct LayerUnpacker {
    let layout: StoreLayout

    static let whiteoutPrefix = ".wh."
    static let opaqueWhiteout = ".wh..wh..opq"

    /// The unpacked directory for `layer`, unpacking it first if needed.
    func unpack(_ layer: Descriptor) throws -> String {
        let final = layout.layerPath(layer.digest)
        if PathName.isDirectory(final) { return final }
        guard MediaType.isLayer(layer.mediaType) else {
            throw BatonError(.corrupt, "layer \(layer.digest) has media type '\(layer.mediaType)', which is not a layer")
        }
        let blob = layout.blobPath(layer.digest)
        guard FileIO.exists(blob) else {
            throw BatonError(.corrupt, "layer \(layer.digest) is missing from the store; import or publish the artifact again")
        }
        try layout.create()
        let temp = "\(layout.layers)/.tmp-\(layer.digest.hex.prefix(12))-\(UInt64.random(in: 0...UInt64.max))"
        try sys("mkdir \(temp)") { mkdir(temp, 0o755) }
        do {
            try extract(blob: blob, descriptor: layer, into: temp)
            try FileIO.fsyncPath(temp)
            if rename(temp, final) != 0 {
                let code = errno
                // Another process unpacked the same layer first; theirs is as good as ours.
                guard (code == ENOTEMPTY || code == EEXIST) && PathName.isDirectory(final) else {
                    throw OSError("rename \(temp)", errno: code)
                }
                FileIO.removeTree(temp)
            }
        } catch {
            FileIO.removeTree(temp)
            throw error
        }
        return final
    }

    /// Names the layer in errors from reading it (a corrupt or truncated blob).
    private func damaged<T>(_ layer: Descriptor, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as BatonError {
            throw BatonError(.corrupt, "layer \(layer.digest) is damaged: \(error.message)", cause: error)
        }
    }

    private func extract(blob: String, descriptor: Descriptor, into directory: String) throws {
        let reader = try TarReader(path: blob)
        let target = try UnpackTarget(path: directory)
        let applier = EntryApplier(target: target, reader: reader)
        while let entry = try damaged(descriptor, { try reader.next() }) {
            do {
                try damaged(descriptor) { try applier.apply(entry) }
            } catch let refusal as UnpackTarget.Refusal {
                throw BatonError(.corrupt, "refusing layer \(descriptor.digest): entry '\(entry.path)': \(refusal.reason)")
            } catch let problem as EntryPath.Problem {
                let reason = switch problem {
                case .absolute: "absolute paths are not allowed"
                case .parentReference: "'..' would leave the layer directory"
                case .tooLong: "the path is too long"
                }
                throw BatonError(.corrupt, "refusing layer \(descriptor.digest): entry '\(entry.path)': \(reason)")
            }
        }
        let (digest, size) = try damaged(descriptor) { try reader.finishHashing() }
        guard digest == descriptor.digest, size == descriptor.size else {
            throw BatonError(.corrupt,
                "layer blob does not match its descriptor: expected \(descriptor.digest) (\(descriptor.size) bytes), found \(digest) (\(size) bytes); the store is damaged")
        }
    }
}
