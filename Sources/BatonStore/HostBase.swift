import BatonOS
import Glibc

/// The layer behind `--base host`. Host directories cannot be copied into a layer, so the layer
/// holds only what must differ from the host, and the host's own trees are bound read-only over
/// it at run time:
///
/// - an empty `usr/` and, for each of `bin sbin lib lib32 lib64 libx32`, the host's symlink
///   (`bin -> usr/bin` on merged-/usr systems) or an empty directory; the empty directories are
///   the mount points listed in the config label `org.baton.host-binds`;
/// - a minimal `etc/` of non-secret host files (the allowlist below, with `ssl/private` left
///   out) and a `passwd`/`group` of the sandbox's own; never shadow, gshadow or keys;
/// - empty `dev proc sys run tmp` mount points.
///
/// Its bytes depend on the host's files, so such artifacts are marked not reproducible.
enum HostBase {
    static let libraryDirectories = ["bin", "lib", "lib32", "lib64", "libx32", "sbin"]

    /// Host files copied into `etc/`, followed if they are symlinks (e.g. resolv.conf into /run),
    /// except `localtime`, whose symlink into /usr/share/zoneinfo still resolves in the sandbox.
    static let etcFiles = ["hosts", "ld.so.cache", "nsswitch.conf", "resolv.conf"]
    static let etcTrees = ["alternatives", "ca-certificates", "ssl"]

    static let passwd = """
        root:x:0:0:root:/root:/bin/sh
        nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin

        """
    static let group = """
        root:x:0:
        nogroup:x:65534:

        """

    /// Writes the layer and returns it with the host paths to bind.
    static func build(_ layout: StoreLayout, hashOnly: Bool, hostRoot: String = "") throws -> (layer: PendingLayer, binds: [String]) {
        let stream = try LayerStream(layout, hashOnly: hashOnly, progress: nil)
        var binds: [String] = []
        var topLevel: [(String, () throws -> Void)] = []
        for name in libraryDirectories {
            let hostPath = hostRoot + "/" + name
            guard let info = try? TreeWalker.lstatPath(hostPath) else { continue }
            if (info.st_mode & S_IFMT) == S_IFLNK {
                let target = try PathName.readLink(hostPath)
                topLevel.append((name, { try stream.addSymlink(name, target: target) }))
            } else if (info.st_mode & S_IFMT) == S_IFDIR {
                binds.append("/" + name)
                topLevel.append((name, { try stream.addDirectory(name, permissions: 0o755) }))
            }
        }
        binds.append("/usr")
        topLevel.append(("usr", { try stream.addDirectory("usr", permissions: 0o755) }))
        for name in ["dev", "proc", "run", "sys"] {
            topLevel.append((name, { try stream.addDirectory(name, permissions: 0o755) }))
        }
        topLevel.append(("tmp", { try stream.addDirectory("tmp", permissions: 0o1777) }))
        topLevel.append(("etc", { try addEtc(stream, hostRoot: hostRoot) }))
        for (_, add) in topLevel.sorted(by: { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }) {
            try add()
        }
        return (try stream.finish(), binds.sorted())
    }

    private static func addEtc(_ stream: LayerStream, hostRoot: String) throws {
        try stream.addDirectory("etc", permissions: 0o755)
        var entries: [(String, () throws -> Void)] = [
            ("group", { try stream.addBytes("etc/group", Array(group.utf8)) }),
            ("passwd", { try stream.addBytes("etc/passwd", Array(passwd.utf8)) }),
        ]
        let etc = hostRoot + "/etc"
        for name in etcFiles where FileIO.isRegularFollowing(etc + "/" + name) {
            entries.append((name, { try stream.addFile("etc/" + name, from: etc + "/" + name, follow: true) }))
        }
        if let target = try? PathName.readLink(etc + "/localtime") {
            entries.append(("localtime", { try stream.addSymlink("etc/localtime", target: target) }))
        }
        if FileIO.isRegularFollowing(etc + "/ca-certificates.conf") {
            entries.append(("ca-certificates.conf", {
                try stream.addFile("etc/ca-certificates.conf", from: etc + "/ca-certificates.conf", follow: true)
            }))
        }
        for name in etcTrees where PathName.isDirectory(etc + "/" + name) {
            entries.append((name, {
                try stream.addDirectory("etc/" + name, permissions: 0o755)
                try stream.addTree(etc + "/" + name, prefix: "etc/" + name, skip: isSecret)
            }))
        }
        for (_, add) in entries.sorted(by: { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }) {
            try add()
        }
    }

    /// Never copied even inside an allowed tree: private keys, and anything not plainly public.
    static func isSecret(_ archivePath: String) -> Bool {
        let name = archivePath.split(separator: "/").last.map(String.init) ?? ""
        return archivePath.hasPrefix("etc/ssl/private") || name.hasSuffix(".key") || name == "shadow"
            || name == "gshadow" || name.hasPrefix("ssh")
    }
}
