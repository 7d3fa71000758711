import BatonTestSupport
import Foundation
import Glibc
import Synchronization

/// What the configuration, secret and log tests read: JSON of the CLI, the environment the
/// serving sandbox's program really has, and a `baton logs -f` running alongside.
extension DeployFixture {
    /// `baton ARGS --json` parsed.
    func json(_ arguments: [String]) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(try baton(arguments + ["--json"]).stdout.utf8))
    }

    /// `app inspect web` as a dictionary.
    func inspect(_ app: String = "web") throws -> [String: Any] {
        try json(["app", "inspect", app]) as? [String: Any] ?? [:]
    }

    /// `history web --json`, newest first.
    func history() throws -> [[String: Any]] {
        try json(["history", "web"]) as? [[String: Any]] ?? []
    }

    /// The environment of the serving sandbox's program (the child of its init), as the kernel
    /// holds it: what the app got, whether or not it prints it.
    func servingEnvironment() throws -> [String] {
        let pid = try servingSandbox().pid
        let children = try String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)
        guard let program = children.split(separator: " ").first else { throw DaemonProcessError("sandbox init \(pid) has no program") }
        let environ = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(program)/environ"))
        return environ.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Publishes `site:VERSION` whose program first prints `line` to its log.
    func publishChatty(_ version: String, line: String) throws {
        try publishSite(version, command: "/bin/sh -c 'echo \(line); exec /bin/busybox httpd -f -p 8000 -h /www'")
    }
}

/// Waits, up to `seconds`, until `condition` holds; false if it never did.
func eventually(_ seconds: Double = 20, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(50_000)
    }
    return try condition()
}

/// `baton logs APP -f` in the background, its stdout collected; killed by `stop()` (and with
/// the test process).
final class LogFollower: Sendable {
    private let process = Mutex<ChildProcess?>(nil)
    private let collected = Mutex(Data())
    private let done = Atomic(false)

    init(app: String, root: String) throws {
        let process = ChildProcess()
        let command = TestProcessLifetime.tied([BatonExecutable.path, "logs", app, "-f", "--root", root])
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try TestProcessLifetime.start(process)
        self.process.withLock { $0 = process }
        let reader = out.fileHandleForReading
        Thread { [self] in
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                collected.withLock { $0.append(chunk) }
            }
            done.store(true, ordering: .releasing)
        }.start()
    }

    var output: String { collected.withLock { String(decoding: $0, as: UTF8.self) } }

    func stop() {
        guard let process = self.process.withLock({ $0 }) else { return }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        while !done.load(ordering: .acquiring) { usleep(10_000) }
    }
}
