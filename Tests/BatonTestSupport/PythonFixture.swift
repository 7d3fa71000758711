import Foundation
import Glibc

/// A Python test server from `Tests/Fixtures`, run by Debian's /usr/bin/python3: it prints
/// "listening PORT" once it listens on 127.0.0.1 and exits when its stdin ends, which happens
/// when `stop()` closes it or when the test process dies (it alone holds the other end), so
/// nothing outlives a run. `wrapper` goes before the command (`unshare --net …`, say).
public final class PythonFixture: @unchecked Sendable {
    // Set once in init; `stop()` is called from the test's cleanup.
    public let port: Int
    /// A scratch directory of its own, removed by `stop()`; its stderr is `stderr.log` there.
    public let directory: String
    private let process: ChildProcess
    private let input: Pipe

    public static let python = "/usr/bin/python3"

    public static func script(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/" + name).path
    }

    /// Whether python3 and its module `module` (a directory of dist-packages) are installed.
    public static func available(module: String) -> Bool {
        FileManager.default.isExecutableFile(atPath: python)
            && FileManager.default.fileExists(atPath: "/usr/lib/python3/dist-packages/\(module)/__init__.py")
    }

    /// Starts `Fixtures/NAME` with `arguments(directory)`; returns once it listens.
    public init(script name: String, arguments: (String) -> [String], wrapper: [String] = []) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-py-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let command = wrapper + [Self.python, Self.script(name)] + arguments(directory)
        process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        _ = FileManager.default.createFile(atPath: directory + "/stderr.log", contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/stderr.log"))
        try process.run()
        // The first line says where it listens; end of file means it did not start.
        var line: [UInt8] = []
        while line.last != UInt8(ascii: "\n") {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty { break }
            line += byte
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("listening "), let port = Int(text.dropFirst("listening ".count)) else {
            let log = (try? String(contentsOfFile: directory + "/stderr.log", encoding: .utf8)) ?? ""
            Self.stop(process, input: input, directory: directory)
            throw ChildProcessError("\(name) did not start: \(text) \(log)")
        }
        self.port = port
    }

    public var pid: Int32 { process.processIdentifier }

    public var log: String { (try? String(contentsOfFile: directory + "/stderr.log", encoding: .utf8)) ?? "" }

    public func stop() { Self.stop(process, input: input, directory: directory) }

    private static func stop(_ process: ChildProcess, input: Pipe, directory: String) {
        try? input.fileHandleForWriting.close()
        let deadline = ContinuousClock.now + .seconds(5)
        while process.isRunning, ContinuousClock.now < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
