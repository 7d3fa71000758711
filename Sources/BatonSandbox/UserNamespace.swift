import BatonOS
import FoundationEssentials
import Glibc

/// The id mapping of a sandbox's user namespace: root inside is an unprivileged range outside.
public struct UserNamespaceMapping: Sendable, Equatable {
    /// First host id of the range; inside ids 0..<count map to hostBase..<hostBase+count.
    public var hostBase: UInt32 = 100_000
    public var count: UInt32 = 65_536

    public init() {}

    /// Writes the maps for `pid` from the parent (only a process with CAP_SETUID in the parent
    /// namespace may map a range other than its own id). setgroups must be denied before
    /// gid_map is written, or an unprivileged process could drop groups that deny it access.
    func write(for pid: pid_t) throws {
        try CgroupFiles.writeFile("/proc/\(pid)/setgroups", "deny")
        try CgroupFiles.writeFile("/proc/\(pid)/uid_map", "0 \(hostBase) \(count)\n")
        try CgroupFiles.writeFile("/proc/\(pid)/gid_map", "0 \(hostBase) \(count)\n")
    }
}
