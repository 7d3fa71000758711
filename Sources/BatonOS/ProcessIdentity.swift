import Glibc

/// What tells one process from a later one that reuses its pid: the pid and its start time
/// in clock ticks since boot (field 22 of /proc/PID/stat).
public struct ProcessIdentity: Codable, Equatable, Sendable {
    public let pid: Int32
    public let startTime: UInt64

    public init(pid: Int32, startTime: UInt64) {
        self.pid = pid
        self.startTime = startTime
    }

    /// The identity of the running process `pid`, or nil if there is none.
    public static func of(pid: Int32) -> ProcessIdentity? {
        guard let stat = readStat(pid) else { return nil }
        // The command name (field 2) may hold spaces and parentheses: count after the last ')'.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); the start time is field 22.
        guard fields.count > 19, let start = UInt64(fields[19]) else { return nil }
        return ProcessIdentity(pid: pid, startTime: start)
    }

    /// Whether the process this identity was taken from still runs (and is not a zombie).
    public var isAlive: Bool {
        guard let now = Self.of(pid: pid), now == self, let stat = Self.readStat(pid),
              let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }

    private static func readStat(_ pid: Int32) -> String? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = read(fd, &buffer, buffer.count)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n], as: UTF8.self)
    }
}
