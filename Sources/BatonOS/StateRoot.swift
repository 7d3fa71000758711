import Glibc

/// Baton's state directory, the same for `baton` and `baton-daemon`: `--root`, else
/// `$BATON_ROOT`, else /var/lib/baton; always absolute.
public enum StateRoot {
    public static let defaultPath = "/var/lib/baton"

    public static func resolve(_ explicit: String?) -> String {
        PathName.absolute(explicit ?? getenv("BATON_ROOT").map { String(cString: $0) } ?? defaultPath)
    }
}
