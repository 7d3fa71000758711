import BatonOS

/// Small files Baton keeps beside the store (registry credentials, where blobs were pushed):
/// written 0600 by one atomic rename, read with a size cap.
public enum PrivateFile {
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try FileIO.makeDirectories(PathName.parent(of: path))
        try FileIO.writeAtomically(bytes, to: path, mode: 0o600)
    }

    /// The file's bytes, or nil when it does not exist.
    public static func read(_ path: String, limit: Int = 1 << 20) throws -> [UInt8]? {
        guard FileIO.exists(path) else { return nil }
        return try FileIO.readAll(path, limit: limit)
    }
}
