import BatonOS
import CArchive
import Glibc

extension LayerBuilder {
    /// Adds an overlayfs upper dir (what a build's RUN step changed) as OCI layer entries:
    /// a whiteout (character device 0/0) becomes `.wh.NAME`, a directory marked
    /// `trusted.overlay.opaque=y` gets `.wh..wh..opq`, everything else is added as publish
    /// adds it. Names are taken in byte order, so the same changes give the same layer.
    /// Sockets, FIFOs and device nodes cannot go into a layer and refuse the step.
    public func addOverlayUpper(_ directory: String, prefix: String = "") throws {
        try stream.addEntries(
            under: directory, prefix: prefix, skip: { _ in false },
            afterDirectory: { path, archivePath in
                if Self.isOpaque(path) { try addOpaqueMarker(in: archivePath) }
            },
            special: { entry in
                guard entry.info.st_mode & S_IFMT == S_IFCHR && entry.info.st_rdev == 0 else {
                    throw BatonError(.invalidArgument,
                        "the step left /\(entry.archivePath), a socket, FIFO or device node, which cannot go into a layer; remove it in the same RUN")
                }
                try addWhiteout(entry.name, in: entry.prefix)
            })
    }

    private static func isOpaque(_ path: String) -> Bool {
        var value = [CChar](repeating: 0, count: 8)
        let length = bt_lgetxattr(path, "trusted.overlay.opaque", &value, value.count)
        return length == 1 && value[0] == CChar(UInt8(ascii: "y"))
    }
}
