import BatonTestSupport
import Foundation
import Glibc

/// `wrk` through the daemon's proxy, bounded by `limit` seconds and dying with the test
/// process; `finish()` stops it early (SIGINT: wrk then prints its report) and reads the report.
final class WrkRun: @unchecked Sendable {
    // `process` is only signalled and waited for after init.
    private let process = ChildProcess()
    private let output = Pipe()

    struct Report {
        let requests: Int
        /// Socket errors (connect, read, write, timeout) plus non-2xx/3xx answers.
        let failed: Int
        /// The 99th percentile of every request's latency, in milliseconds.
        let p99Milliseconds: Double
        let text: String
    }

    static var available: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/wrk") }

    /// `close`: every request says `Connection: close`, so each makes a new connection.
    init(port: Int, host: String, path: String = "/", connections: Int, limit: Int, close: Bool = false) throws {
        // The test process's threads block most signals and a child inherits the mask: wrk
        // gets an empty one, so that SIGINT reaches its handler.
        let command = TestProcessLifetime.tied([
            "/usr/bin/perl", "-MPOSIX", "-e", "sigprocmask(SIG_SETMASK, POSIX::SigSet->new) or die; exec @ARGV or die",
            "/usr/bin/wrk", "-t2", "-c\(connections)", "-d\(limit)s", "--timeout", "30s", "--latency",
            "-H", "Host: \(host)"] + (close ? ["-H", "Connection: close"] : []) + ["http://127.0.0.1:\(port)\(path)",
        ])
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try TestProcessLifetime.start(process)
    }

    func finish() -> Report {
        if process.isRunning { kill(process.processIdentifier, SIGINT) }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return Report(requests: Self.number(after: #"(\d+) requests in"#, in: text) ?? 0,
                      failed: Self.failures(in: text), p99Milliseconds: Self.p99(in: text) ?? -1, text: text)
    }

    private static func number(after pattern: String, in text: String) -> Int? {
        guard let match = text.range(of: pattern, options: .regularExpression) else { return nil }
        return Int(text[match].split(separator: " ")[0])
    }

    private static func failures(in text: String) -> Int {
        var total = 0
        if let line = text.split(separator: "\n").first(where: { $0.contains("Socket errors") }) {
            total += line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }.reduce(0, +)
        }
        if let line = text.split(separator: "\n").first(where: { $0.contains("Non-2xx or 3xx responses") }) {
            total += Int(line.split(separator: " ").last ?? "") ?? 0
        }
        return total
    }

    /// "99%   12.34ms" (or us, s) in the latency distribution.
    private static func p99(in text: String) -> Double? {
        guard let line = text.split(separator: "\n").first(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix("99%") }),
              let value = line.split(separator: " ").last else { return nil }
        for (unit, scale) in [("us", 0.001), ("ms", 1.0), ("s", 1000.0)] where value.hasSuffix(unit) {
            return Double(value.dropLast(unit.count)).map { $0 * scale }
        }
        return nil
    }
}
