import BatonOS
import CArchive
import Glibc

/// Applies one tar entry to an `UnpackTarget`. Owners, permission bits and file mtimes are kept
/// as the layer records them (we unpack as root).
struct EntryApplier {
    let target: UnpackTarget
    let reader: TarReader

    func apply(_ entry: TarEntry) throws {
        let path = try EntryPath(entry.path)
        if path.isRoot {
            if entry.kind == .directory { try setOwnerAndMode(target.root, entry) }
            return
        }
        let name = path.name
        let parent = try target.openParent(of: path)
        defer { close(parent) }

        if name == LayerUnpacker.opaqueWhiteout {
            try sys("setxattr trusted.overlay.opaque on \(path)") {
                bt_fsetxattr_string(parent, "trusted.overlay.opaque", "y")
            }
            return
        }
        if name.hasPrefix(LayerUnpacker.whiteoutPrefix) {
            let hidden = String(name.dropFirst(LayerUnpacker.whiteoutPrefix.count))
            guard !hidden.isEmpty, hidden != ".", hidden != ".." else {
                throw UnpackTarget.Refusal(reason: "malformed whiteout")
            }
            let hiddenPath = try EntryPath((path.parent + [hidden]).joined(separator: "/"))
            try target.removeExisting(parent, hidden, relative: hiddenPath)
            // An overlayfs whiteout is a character device 0/0.
            try sys("mknod whiteout \(hiddenPath)") { mknodat(parent, hidden, S_IFCHR, 0) }
            return
        }

        switch entry.kind {
        case .directory:
            if !target.isDirectory(parent, name) {
                try target.removeExisting(parent, name, relative: path)
                try sys("mkdir \(path)") { mkdirat(parent, name, 0o700) }
            }
            let fd = try sys("open \(path)") { openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            defer { close(fd) }
            try setOwnerAndMode(fd, entry)
        case .file:
            try target.removeExisting(parent, name, relative: path)
            let fd = try sys("create \(path)") {
                openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            }
            defer { close(fd) }
            try reader.readData { try FileIO.writeAll(fd, $0, path: path.description) }
            try setOwnerAndMode(fd, entry)
            var times = [timespec(tv_sec: entry.mtime, tv_nsec: 0), timespec(tv_sec: entry.mtime, tv_nsec: 0)]
            _ = futimens(fd, &times)
        case .symlink:
            guard let link = entry.linkTarget, !link.isEmpty else { throw UnpackTarget.Refusal(reason: "symlink without a target") }
            try target.removeExisting(parent, name, relative: path)
            // A symlink may point anywhere: it is resolved inside the sandbox's root, and no
            // later entry is written through it (parents are opened with O_NOFOLLOW).
            try sys("symlink \(path)") { symlinkat(link, parent, name) }
            try sys("chown \(path)") { fchownat(parent, name, entry.uid, entry.gid, AT_SYMLINK_NOFOLLOW) }
        case .hardlink:
            try link(entry, at: path, in: parent)
        case .fifo:
            try target.removeExisting(parent, name, relative: path)
            try sys("mkfifo \(path)") { mknodat(parent, name, S_IFIFO | mode_t(entry.permissions & 0o777), 0) }
            try sys("chown \(path)") { fchownat(parent, name, entry.uid, entry.gid, AT_SYMLINK_NOFOLLOW) }
        case .charDevice, .blockDevice:
            throw UnpackTarget.Refusal(reason: "device nodes are not allowed in layers")
        case .socket, .other:
            throw UnpackTarget.Refusal(reason: "unsupported entry type")
        }
    }

    /// A hard link must name an entry already inside the layer, reached without symlinks.
    private func link(_ entry: TarEntry, at path: EntryPath, in parent: Int32) throws {
        guard let targetText = entry.linkTarget else { throw UnpackTarget.Refusal(reason: "hard link without a target") }
        let targetPath: EntryPath
        do {
            targetPath = try EntryPath(targetText)
        } catch {
            throw UnpackTarget.Refusal(reason: "hard link to '\(targetText)' points outside the layer")
        }
        guard !targetPath.isRoot else { throw UnpackTarget.Refusal(reason: "hard link to the layer root") }
        let targetParent: Int32
        do {
            targetParent = try target.openParent(of: targetPath, create: false)
        } catch let refusal as UnpackTarget.Refusal {
            throw UnpackTarget.Refusal(reason: "hard link target '\(targetText)': \(refusal.reason)")
        }
        defer { close(targetParent) }
        var info = stat()
        guard fstatat(targetParent, targetPath.name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw UnpackTarget.Refusal(reason: "hard link target '\(targetText)' is not in the layer")
        }
        guard (info.st_mode & S_IFMT) != S_IFDIR else {
            throw UnpackTarget.Refusal(reason: "hard link to a directory")
        }
        if targetPath.components == path.components { return }
        try target.removeExisting(parent, path.name, relative: path)
        try sys("link \(path)") { linkat(targetParent, targetPath.name, parent, path.name, 0) }
    }

    private func setOwnerAndMode(_ fd: Int32, _ entry: TarEntry) throws {
        try sys("chown \(entry.path)") { fchown(fd, entry.uid, entry.gid) }
        // After chown, which clears set-id bits.
        try sys("chmod \(entry.path)") { fchmod(fd, mode_t(entry.permissions & 0o7777)) }
    }
}
