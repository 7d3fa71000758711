import BatonOS
import Glibc

/// `<runtime directory>/sandbox-layers/<id>` (RuntimeDirectory): a sandbox's own read-only layer, between the skeleton and the
/// artifact's layers, made only when the sandbox needs one. It holds the mount points of its
/// binds (a volume at `/data` needs a `/data` the artifact may lack, and the root is read-only)
/// and the files Baton writes for it (`/etc/hosts`, `/etc/resolv.conf`). Removed with the
/// sandbox.
public enum SandboxLayer {
    public static func directory(root: String) -> String { RuntimeDirectory.path(root: root) + "/sandbox-layers" }

    static func path(root: String, id: String) -> String { directory(root: root) + "/" + id }

    /// Makes the layer for `spec`; returns its path.
    static func create(root: String, spec: SandboxSpec) throws -> String {
        let layer = path(root: root, id: spec.id)
        do throws(OSError) {
            _ = try RuntimeDirectory.subdirectory("sandbox-layers", root: root)
            if mkdir(layer, 0o755) != 0 {
                // `baton network rm` removes the directory once it is empty: make it again.
                guard errno == ENOENT else { throw OSError("mkdir \(layer)", errno: errno) }
                _ = try RuntimeDirectory.subdirectory("sandbox-layers", root: root)
                try sys("mkdir \(layer)") { mkdir(layer, 0o755) }
            }
            for bind in spec.binds { try makeDirectories(layer, components(bind.target)) }
            for file in spec.files {
                let parts = components(file.path)
                try makeDirectories(layer, Array(parts.dropLast()))
                try write(file.contents, to: layer + file.path)
            }
        } catch {
            remove(root: root, id: spec.id)
            throw BatonError(.setupFailed, "cannot prepare the sandbox's own layer: \(error.description)", cause: error)
        }
        return layer
    }

    static func remove(root: String, id: String) {
        let layer = path(root: root, id: id)
        var info = stat()
        guard lstat(layer, &info) == 0 else { return }
        removeTree(layer)
    }

    static func components(_ path: String) -> [String] {
        path.split(separator: "/").map(String.init)
    }

    private static func makeDirectories(_ base: String, _ parts: [String]) throws(OSError) {
        var current = base
        for part in parts {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST { throw OSError("mkdir \(current)", errno: errno) }
            // umask may have narrowed it; the sandbox's user must be able to pass through.
            chmod(current, 0o755)
        }
    }

    private static func write(_ contents: String, to path: String) throws(OSError) {
        let fd = try sys("create \(path)") { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644) }
        defer { close(fd) }
        let bytes = Array(contents.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw OSError("write \(path)", errno: written < 0 ? errno : EIO) }
        fchmod(fd, 0o644)
    }

    /// Removes a tree Baton made itself (directories and regular files, no links followed).
    private static func removeTree(_ path: String) {
        if let names = try? DirectoryListing.names(path) {
            for name in names {
                let child = path + "/" + name
                var info = stat()
                if lstat(child, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR { removeTree(child) } else { unlink(child) }
            }
        }
        rmdir(path)
    }
}
