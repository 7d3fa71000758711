import BatonTestSupport
import Foundation
import Glibc

/// What a client program (curl, openssl, nghttp, h2load, python) said and how it ended.
struct ToolResult: Sendable {
    let status: Int32
    let output: String
    let errors: String

    var all: String { output + errors }
}

/// A client program the test runs against the proxy: always with a deadline of its own
/// (`timeout`), so a proxy that hangs fails the test instead of hanging it; its output is read
/// off the cooperative pool.
final class ClientTool: @unchecked Sendable {
    // `process` and the files are set up once in init and only read afterwards.
    private let process = ChildProcess()
    private let output: String
    private let errors: String
    private let directory: TempDir

    /// Starts `arguments[0]` with the rest; `input` is written to its standard input, which
    /// is then closed.
    init(_ arguments: [String], input: String = "", limit: Int = 60) throws {
        directory = TempDir(prefix: "baton-tool")
        output = directory.sub("out")
        errors = directory.sub("err")
        let inputFile = directory.sub("in")
        _ = FileManager.default.createFile(atPath: inputFile, contents: Data(input.utf8))
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        _ = FileManager.default.createFile(atPath: errors, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["--signal=KILL", String(limit)] + arguments
        process.standardInput = FileHandle(forReadingAtPath: inputFile)
        process.standardOutput = FileHandle(forWritingAtPath: output)
        process.standardError = FileHandle(forWritingAtPath: errors)
        try process.run()
    }

    var isRunning: Bool { process.isRunning }

    /// Waits for the program to end.
    func finish() async throws -> ToolResult {
        let process = self.process
        try await offThePool { process.waitUntilExit() }
        defer { directory.remove() }
        return ToolResult(
            status: process.terminationReason == .exit ? process.terminationStatus : -process.terminationStatus,
            output: (try? String(contentsOfFile: output, encoding: .utf8)) ?? "",
            errors: (try? String(contentsOfFile: errors, encoding: .utf8)) ?? "")
    }

    /// Runs a program to its end.
    static func run(_ arguments: [String], input: String = "", limit: Int = 60) async throws -> ToolResult {
        try await ClientTool(arguments, input: input, limit: limit).finish()
    }
}
