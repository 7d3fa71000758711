import BatonTestSupport
import BatonNetwork
import Foundation
import Glibc
import Testing

/// A client that fills the daemon's file-descriptor table (connections it opens and never
/// uses) must not make the daemon spin a core on accept, and the daemon must serve again once
/// descriptors free up. The daemon runs as a child under a low RLIMIT_NOFILE: the limit cannot
/// be lowered for one part of this test process.
@Suite(.serialized) struct AcceptBackoffTests {
    // The limit only stops a hang; waits for a cooperative thread count towards it too.
    @Test(.timeLimit(.minutes(10)))
    func aListenerOutOfFileDescriptorsDoesNotSpinAndServesOnceTheyFree() async throws {
        let daemon = try await offThePool { try LimitedDaemon(fileLimit: 64) }
        defer { daemon.stop() }
        let (cpu, status, diagnosis) = try await offThePool {
            // Idle connections the daemon accepts until its table is full; the rest wait in
            // the backlog, and the listener stays readable.
            var held = try (0..<80).map { _ in try RawClient(port: daemon.port) }
            try daemon.waitForOpenFiles(atLeast: 60, within: .seconds(20))

            // More connections keep arriving while the daemon's CPU time is measured.
            let cpuBefore = daemon.cpuSeconds()
            let start = ContinuousClock.now
            while ContinuousClock.now - start < .seconds(2) {
                held.append(try RawClient(port: daemon.port))
                usleep(100_000)
            }
            let cpu = daemon.cpuSeconds() - cpuBefore

            // Descriptors free up: every held connection goes; the next one is served (the
            // daemon works through the backlog first, on cores other suites share).
            let probe = try RawClient(port: daemon.port, timeout: 30)
            held.removeAll()
            try probe.send("GET / HTTP/1.1\r\nHost: nobody.test\r\n\r\n")
            let status = (try? probe.readResponse().status) ?? 0
            return (cpu, status, status == 404 ? "" : daemon.diagnosis())
        }
        // Spinning on accept used the whole 2 s; backing off uses a few milliseconds.
        #expect(cpu < 0.4, "the daemon used \(cpu) s of CPU in 2 s at its file limit")
        #expect(status == 404, "no answer once descriptors freed: \(diagnosis)")
    }
}

/// `baton-daemon` from this build, as a child with RLIMIT_NOFILE lowered (by prlimit) and a
/// long header timeout, so idle connections stay open. `stop()` must run in `defer`.
final class LimitedDaemon: Sendable {
    let process: ChildProcess
    let root: String
    let port: Int

    init(fileLimit: Int) throws {
        let build = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        root = FileManager.default.temporaryDirectory.appendingPathComponent("baton-fd-limit-\(UUID().uuidString.prefix(8))").path
        let log = root + ".log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
        process.arguments = [
            "--nofile=\(fileLimit):\(fileLimit)", "--", build.appendingPathComponent("baton-daemon").path,
            "--root", root, "--listen", "127.0.0.1:0", "--no-access-log", "--header-timeout", "120",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        var found: Int?
        let deadline = ContinuousClock.now + .seconds(30)
        while found == nil, process.isRunning, ContinuousClock.now < deadline {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            found = Self.proxyPort(in: text)
            if found == nil { usleep(50_000) }
        }
        guard let found else {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            Self.stop(process, root: root)
            throw TestFailure("baton-daemon did not start: \(text)")
        }
        port = found
    }

    /// The port in "baton daemon: proxy on 127.0.0.1:PORT, …".
    private static func proxyPort(in log: String) -> Int? {
        guard let line = log.split(separator: "\n").first(where: { $0.hasPrefix("baton daemon: proxy on ") }),
            let address = line.split(separator: " ").dropFirst(4).first,
            let colon = address.lastIndex(of: ":")
        else { return nil }
        return Int(address[address.index(after: colon)...].prefix { $0.isNumber })
    }

    /// User plus system CPU time the daemon has used, in seconds.
    func cpuSeconds() -> Double {
        let stat = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8)) ?? ""
        // Fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
        let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    func waitForOpenFiles(atLeast count: Int, within limit: Duration) throws {
        let deadline = ContinuousClock.now + limit
        var open = 0
        while ContinuousClock.now < deadline {
            open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(process.processIdentifier)/fd").count) ?? 0
            if open >= count { return }
            usleep(20_000)
        }
        throw TestFailure("the daemon has \(open) files open, expected \(count)")
    }

    /// Whether the daemon still runs, its open files and the end of its log: what a failed
    /// expectation shows.
    func diagnosis() -> String {
        let pid = process.processIdentifier
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
        let log = (try? String(contentsOfFile: root + ".log", encoding: .utf8)) ?? ""
        return "running \(process.isRunning), \(open) files open, log: \(log.suffix(2000))"
    }

    func stop() { Self.stop(process, root: root) }

    private static func stop(_ process: ChildProcess, root: String) {
        if process.isRunning {
            process.terminate()
            let deadline = ContinuousClock.now + .seconds(10)
            while process.isRunning, ContinuousClock.now < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        try? RootNetwork.remove(root: root)  // the daemon made it at start
        try? FileManager.default.removeItem(atPath: root)
        try? FileManager.default.removeItem(atPath: root + ".log")
    }
}
