import Glibc

/// `/run/baton/<hash of the root>`: what a root keeps only while its sandboxes run (their own
/// layers, network address leases). On tmpfs, so making and removing it costs no disk
/// discards on a sandbox's start path, and a reboot, which ends every sandbox, clears it.
/// 0700 like the root.
public enum RuntimeDirectory {
    public static let base = "/run/baton"

    public static func path(root: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in root.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return base + "/" + String(hash, radix: 16)
    }

    /// `path(root:)/name`, made (0700, with its parents) if missing.
    public static func subdirectory(_ name: String, root: String) throws(OSError) -> String {
        let directory = path(root: root)
        for path in [base, directory, directory + "/" + name] where mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw OSError("mkdir \(path)", errno: errno)
        }
        return directory + "/" + name
    }
}
