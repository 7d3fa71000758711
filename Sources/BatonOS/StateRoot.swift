import Glibc

/// Baton's state directory, the same for `baton` and `baton-daemon`: `--root`, else
/// `$BATON_ROOT`, else /var/lib/baton; always absolute.
public enum StateRoot {
    public static let defaultPath = "/var/lib/baton"

    public static func resolve(_ explicit: String?) -> String {
        let chosen = explicit ?? getenv("BATON_ROOT").map { String(cString: $0) } ?? defaultPath
        if chosen.hasPrefix("/") { return chosen }
        return currentDirectory() + "/" + chosen
    }

    private static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
