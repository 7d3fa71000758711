/// Where inside a sandbox something may be mounted. One rule for `baton run --volume`, app
/// volumes and the launcher, so a path an app is created with is one its sandboxes can bind.
public enum SandboxPath {
    /// What every sandbox mounts itself: nothing may be bound over or beneath these.
    public static let reserved = ["/proc", "/sys", "/dev", "/tmp"]

    /// Why `path` cannot be a mount path inside a sandbox, or nil. It must be absolute and
    /// spelled plainly (no `.`, `..` or empty parts), not `/`, and not at or beneath one of
    /// `taken` (the mounts the sandbox makes itself). `what` names it in the message.
    public static func problem(_ path: String, _ what: String, taken: [String] = reserved) -> String? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard path.hasPrefix("/"), !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }),
              !path.utf8.contains(0) else {
            return "\(what) '\(path)' must be an absolute path without '.', '..' or empty parts, other than /"
        }
        for other in taken where path == other || path.hasPrefix(other + "/") {
            return "\(what) '\(path)' overlaps \(other), which the sandbox mounts itself"
        }
        return nil
    }

    /// Whether one of two mount paths is the other or lies beneath it.
    public static func overlap(_ one: String, _ other: String) -> Bool {
        one == other || one.hasPrefix(other + "/") || other.hasPrefix(one + "/")
    }
}
