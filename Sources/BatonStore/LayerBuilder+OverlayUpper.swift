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
        for name in try DirectoryListing.names(directory) {
            let path = directory + "/" + name
            let archivePath = prefix.isEmpty ? name : prefix + "/" + name
            let info = try TreeWalker.lstatPath(path)
            switch info.st_mode & S_IFMT {
            case S_IFCHR where info.st_rdev == 0:
                try addWhiteout(name, in: prefix)
            case S_IFDIR:
                try addDirectory(archivePath, permissions: UInt32(info.st_mode) & 0o7777)
                if Self.isOpaque(path) { try addOpaqueMarker(in: archivePath) }
                try addOverlayUpper(path, prefix: archivePath)
            case S_IFREG:
                try addFile(archivePath, from: path)
            case S_IFLNK:
                try addSymlink(archivePath, target: try PathName.readLink(path))
            default:
                throw BatonError(.invalidArgument,
                    "the step left /\(archivePath), a socket, FIFO or device node, which cannot go into a layer; remove it in the same RUN")
            }
        }
    }

    private static func isOpaque(_ path: String) -> Bool {
        var value = [CChar](repeating: 0, count: 8)
        let length = bt_lgetxattr(path, "trusted.overlay.opaque", &value, value.count)
        return length == 1 && value[0] == CChar(UInt8(ascii: "y"))
    }
}
