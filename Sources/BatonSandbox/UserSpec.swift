/// "1000" or "1000:1000": the ids a sandbox's program runs as (`--user`, an artifact's
/// numeric User). A name is not resolved: the host's user database is not the artifact's.
public enum UserSpec {
    public static func parse(_ text: String) -> (uid: UInt32, gid: UInt32)? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let uid = UInt32(parts[0]) else { return nil }
        if parts.count == 1 { return (uid, uid) }
        guard let gid = UInt32(parts[1]) else { return nil }
        return (uid, gid)
    }
}
