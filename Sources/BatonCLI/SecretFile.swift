import BatonControl
import BatonOS

/// A secret's value read from a file by the CLI (`--secret-file K=PATH`, an apply file's
/// `{ file: PATH }`): the daemon never opens an operator's paths, it gets the value. The file's
/// bytes are the value exactly, a trailing newline included. No message repeats them.
enum SecretFile {
    /// `K=PATH` split, or nil.
    static func parse(_ entry: String) -> (name: String, path: String)? {
        guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex, entry.index(after: equals) != entry.endIndex else {
            return nil
        }
        return (String(entry[..<equals]), String(entry[entry.index(after: equals)...]))
    }

    /// `K=VALUE` for each `K=PATH`, each file read whole.
    static func entries(_ flags: [String]) throws(BatonError) -> [String] {
        var entries: [String] = []
        for flag in flags {
            guard let (name, path) = parse(flag) else {
                throw BatonError(.invalidArgument, "invalid --secret-file '\(flag)': use KEY=PATH")
            }
            entries.append(name + "=" + (try read(path)))
        }
        return entries
    }

    /// The contents of the regular file at `path`, refused past `AppConfig.maxValueBytes` or
    /// when not UTF-8 text.
    static func read(_ path: String) throws(BatonError) -> String {
        try OperatorFile.text(path, what: "secret file", limit: AppConfig.maxValueBytes,
                              tooLarge: "\(AppConfig.maxValueBytes) bytes (64 KiB)")
    }
}
