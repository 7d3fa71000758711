import Glibc

/// Baton's state directory, the same for `baton` and `baton-daemon`: `--root`, else
/// `$BATON_ROOT`, else /var/lib/baton; always absolute.
///
/// It is Baton's alone (DESIGN.md invariant 6): the root itself is 0700 and owned by the user
/// Baton runs as (root), so no other local user can reach anything beneath it: not the layers
/// (whose files keep the owners and set-id bits their artifact gave them), not the state
/// database (app environments), not the control socket.
public enum StateRoot {
    public static let defaultPath = "/var/lib/baton"

    public static func resolve(_ explicit: String?) -> String {
        PathName.absolute(explicit ?? getenv("BATON_ROOT").map { String(cString: $0) } ?? defaultPath)
    }

    /// Creates `root` (0700; missing parents 0755) or checks an existing one: a directory owned
    /// by us, or a symlink we own to one. A root left by an older version (0711, 0755) is
    /// tightened, with what is beneath it. Cheap when the root is already right: one lstat.
    public static func prepare(_ root: String) throws(BatonError) {
        var info = stat()
        if lstat(root, &info) != 0 {
            guard errno == ENOENT else { throw failure("cannot read root \(root)", errno) }
            try create(root)
            return
        }
        if (info.st_mode & S_IFMT) == S_IFLNK {
            // An operator's link (/var/lib/baton -> /data/baton) is followed; one another user
            // planted (in /tmp, say) must not make us chmod whatever it points at.
            guard info.st_uid == geteuid() else {
                throw BatonError(.conflict, "root \(root) is a symbolic link owned by uid \(info.st_uid), not by Baton's user: remove it or choose another --root")
            }
            guard stat(root, &info) == 0 else { throw failure("cannot follow root \(root)", errno) }
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw BatonError(.invalidArgument, "root \(root) is not a directory: choose another --root")
        }
        guard info.st_uid == geteuid() else {
            throw BatonError(.conflict, "root \(root) is owned by uid \(info.st_uid), not by Baton's user (uid \(geteuid())): chown it or choose another --root")
        }
        if info.st_mode & 0o7777 != 0o700 {
            guard chmod(root, 0o700) == 0 else { throw failure("cannot restrict root \(root) to mode 0700", errno) }
            tighten(root)
        }
    }

    /// Makes what Baton keeps under `root` private: its own directories 0700, its own files
    /// 0600. Layer contents and the skeleton keep their modes: they are what sandboxes see, and
    /// the 0700 root already keeps every other user out of them.
    public static func tighten(_ root: String) {
        for name in ["store", "layers", "sandboxes", "logs", "host-binds", "seccomp", "volumes", "network"] {
            chmod(root + "/" + name, 0o700)
        }
        for name in ["state.db", "state.db-wal", "state.db-shm", "daemon.lock"] {
            chmod(root + "/" + name, 0o600)
        }
        tightenTree(root + "/store")
        tightenTree(root + "/sandboxes")
        tightenTree(root + "/logs")
        tightenTree(root + "/host-binds")
        tightenTree(root + "/seccomp")
    }

    private static func tightenTree(_ directory: String) {
        guard let names = try? DirectoryListing.names(directory) else { return }
        chmod(directory, 0o700)
        for name in names {
            let path = directory + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR: tightenTree(path)
            case S_IFREG: chmod(path, 0o600)
            default: continue
            }
        }
    }

    private static func create(_ root: String) throws(BatonError) {
        let parent = PathName.parent(of: root)
        if parent != root, !PathName.isDirectory(parent) { try createParents(parent) }
        guard mkdir(root, 0o700) == 0 || errno == EEXIST else { throw failure("cannot create root \(root)", errno) }
        // mkdir's mode passed through the umask; a racing creator's mode is not ours to trust.
        try prepare(root)
    }

    private static func createParents(_ path: String) throws(BatonError) {
        let parent = PathName.parent(of: path)
        if parent != path, !PathName.isDirectory(parent) { try createParents(parent) }
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw failure("cannot create \(path)", errno) }
    }

    private static func failure(_ what: String, _ code: Int32) -> BatonError {
        BatonError(.setupFailed, "\(what): \(String(cString: strerror(code)))", cause: OSError(what, errno: code))
    }
}
