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
        guard let stat = readStat(pid), let start = field(22, of: stat).flatMap(decimal) else { return nil }
        return ProcessIdentity(pid: pid, startTime: start)
    }

    /// Whether the process this identity was taken from still runs (and is not a zombie).
    public var isAlive: Bool {
        guard let stat = Self.readStat(pid), let start = Self.field(22, of: stat).flatMap(Self.decimal),
              start == startTime, let state = Self.field(3, of: stat)
        else { return false }
        return state != [UInt8(ascii: "Z")]
    }

    /// Field `number` (1-based, as in proc(5)) of a /proc/PID/stat line, for fields after the
    /// command name: that one (field 2) may hold spaces and parentheses, so counting starts
    /// after the last ')'. Bytes, not String: this runs on the sandbox start path.
    private static func field(_ number: Int, of stat: [UInt8]) -> ArraySlice<UInt8>? {
        guard number >= 3, let close = stat.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        var current = 2
        var index = close + 1
        while index < stat.count {
            while index < stat.count && stat[index] == UInt8(ascii: " ") { index += 1 }
            let begin = index
            while index < stat.count && stat[index] != UInt8(ascii: " ") && stat[index] != UInt8(ascii: "\n") { index += 1 }
            guard index > begin else { return nil }
            current += 1
            if current == number { return stat[begin..<index] }
        }
        return nil
    }

    private static func decimal(_ digits: ArraySlice<UInt8>) -> UInt64? {
        var value: UInt64 = 0
        for digit in digits {
            guard digit >= UInt8(ascii: "0") && digit <= UInt8(ascii: "9") else { return nil }
            let (scaled, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = scaled.addingReportingOverflow(UInt64(digit - UInt8(ascii: "0")))
            guard !overflow1 && !overflow2 else { return nil }
            value = sum
        }
        return digits.isEmpty ? nil : value
    }

    private static func readStat(_ pid: Int32) -> [UInt8]? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = read(fd, &buffer, buffer.count)
        guard n > 0 else { return nil }
        return Array(buffer[0..<n])
    }
}
