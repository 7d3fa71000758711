import BatonTestSupport
import BatonNetwork
import Foundation
import Glibc

/// The built `baton` executable, run the way a user runs it.
enum BatonExecutable {
    struct Result: Sendable {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// $BATON_BIN, else `baton` beside the test bundle in the build directory.
    static let path: String = builtBaton(searchingUp: 2)
        ?? Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("baton").path

    /// Runs `baton ARGS` (or `prefix… baton ARGS`, e.g. setpriv; or any `executable`) to the
    /// end, with `input` on stdin (else /dev/null) and `environment` added to the test's own;
    /// killed after `timeout` seconds or with the test process.
    static func run(
        _ arguments: [String], prefix: [String] = [], executable: String = path, input: String? = nil,
        environment: [String: String] = [:], timeout: Int = 60
    ) throws -> Result {
        let process = ChildProcess()
        let command = TestProcessLifetime.tied(prefix + [executable] + arguments)
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe(), err = Pipe()
        // A stdin pipe only with input: without, the child sees /dev/null as before.
        let stdin = input == nil ? nil : Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = stdin.map { $0 as Any } ?? FileHandle.nullDevice
        try TestProcessLifetime.start(process)
        if let input, let stdin {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try? stdin.fileHandleForWriting.close()
        }
        let killer = DispatchWorkItem { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(timeout), execute: killer)
        defer { killer.cancel() }
        // Drain both pipes before waiting so a chatty child never blocks on a full pipe.
        let stdoutData = Mutexed(Data())
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            stdoutData.set(out.fileHandleForReading.readDataToEndOfFile())
            group.leave()
        }
        let stderrData = err.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: stdoutData.get(), as: UTF8.self),
                      stderr: String(decoding: stderrData, as: UTF8.self))
    }
}

/// `baton daemon` as a child process on 127.0.0.1 (a free port), its stderr in a file. It dies
/// with the test process, and its sandboxes are killed then (`TestProcessLifetime`).
/// `stop()` must run in `defer`: it kills the process if it is still there.
final class DaemonProcess: @unchecked Sendable {
    // `port` is set once in init, before the object is shared; the child is only signalled and
    // waited for afterwards.
    let process = ChildProcess()
    let root: String
    let logPath: String
    private(set) var port = 0

    /// `environment` is added to the test's own (a fault to inject, say); `accessLog`: the
    /// proxy's access log goes to `accessLogPath` (verify) instead of nowhere.
    /// `shortCommandLine`: the root comes from $BATON_ROOT and the access log goes to
    /// /dev/null, so the daemon's argv is as short as it can be (`--listen 127.0.0.1:0` only).
    init(root: String, extra: [String] = [], environment: [String: String] = [:], accessLog: Bool = false,
         shortCommandLine: Bool = false) throws {
        self.root = root
        logPath = root + "-daemon-\(UUID().uuidString.prefix(6)).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        var environment = environment
        if shortCommandLine { environment["BATON_ROOT"] = root }
        // A daemon (or a successor it starts) that crashes prints where, into its log, which a
        // failing test shows (`logTail`).
        if ProcessInfo.processInfo.environment["SWIFT_BACKTRACE"] == nil {
            environment["SWIFT_BACKTRACE"] = "enable=yes,interactive=no,color=no,threads=crashed"
        }
        let command = TestProcessLifetime.tied([BatonExecutable.path, "daemon"] + (shortCommandLine ? [] : ["--root", root])
                                               + ["--listen", "127.0.0.1:0"]
                                               + (accessLog || shortCommandLine ? [] : ["--no-access-log"]) + extra)
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        if accessLog { _ = FileManager.default.createFile(atPath: accessLogPath, contents: nil) }
        process.standardOutput = accessLog ? try FileHandle(forWritingTo: URL(fileURLWithPath: accessLogPath)) : FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardInput = FileHandle.nullDevice
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        TestProcessLifetime.register(root: root)
        try TestProcessLifetime.start(process)
        do {
            port = try waitForReadyLine()
        } catch {
            stop()
            throw error
        }
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// The last lines of the daemon's log, for a failure message; from the crash report on,
    /// when a daemon crashed.
    func logTail(lines: Int = 60) -> String {
        let all = log.split(separator: "\n", omittingEmptySubsequences: false)
        if let crash = all.firstIndex(where: { $0.hasPrefix("*** Program crashed") }) {
            return all[crash...].prefix(lines).joined(separator: "\n")
        }
        return all.suffix(lines).joined(separator: "\n")
    }
    var accessLogPath: String { logPath + ".access" }

    /// The ready line says where the proxy listens; waits (bounded) until it appears.
    private func waitForReadyLine() throws -> Int {
        for _ in 0..<600 {
            if let line = log.split(separator: "\n").first(where: { $0.hasPrefix("baton daemon: proxy on ") }) {
                let address = line.dropFirst("baton daemon: proxy on ".count).prefix { $0 != "," }
                if let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) { return port }
            }
            if !process.isRunning { break }
            usleep(50_000)
        }
        throw DaemonProcessError("daemon did not become ready; its log:\n\(log)")
    }

    /// A successor is not this test's child: it is killed by pid and waited for by polling.
    func killSuccessor() {
        guard let pid = currentPID, pid != process.processIdentifier,
              (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8))?.contains("baton-daemon") == true
        else { return }
        kill(pid, SIGKILL)
        for _ in 0..<600 where !Self.isGone(pid) { usleep(50_000) }
    }

    /// Gone, or a zombie: an orphan is reaped by whatever pid 1 is, which may never do it.
    static func isGone(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state == "Z" || state == "X"
    }

    /// SIGKILL: no shutdown code runs, as after a crash or an OOM kill.
    func killHard() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// The daemon serving the root now: after a hand-off, not the process this started.
    var currentPID: Int32? {
        guard let text = try? String(contentsOfFile: root + "/daemon.lock", encoding: .utf8) else { return nil }
        return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Kills the daemon (and any successor a hand-off started) and removes the sandbox network
    /// it made at start, unless sandboxes still hold addresses on it (a test that restarts the
    /// daemon keeps them running).
    func stop() {
        killHard()
        killSuccessor()
        try? RootNetwork.remove(root: root)
        // BATON_KEEP_DAEMON_LOGS=1 keeps the logs under /tmp, for a failure to study afterwards.
        if ProcessInfo.processInfo.environment["BATON_KEEP_DAEMON_LOGS"] == nil { try? FileManager.default.removeItem(atPath: logPath) }
        try? FileManager.default.removeItem(atPath: accessLogPath)
    }
}

struct DaemonProcessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A value handed from one thread to another.
final class Mutexed<Value>: @unchecked Sendable {
    // Every access goes through `lock`.
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func get() -> Value { lock.withLock { value } }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }
}

/// Runs blocking work (child processes, blocking sockets) on its own thread, so it never holds
/// one of the few threads of Swift's cooperative pool that in-process daemons need.
func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}
