import BatonCommandLine
import BatonControl
import BatonOS
import BatonTestSupport
import Foundation
import Glibc
import Testing

/// `baton daemon status` and `stop`, what the daemon says when it starts and stops, and a port
/// in use: what an operator running the real binaries sees.
@Suite(.serialized) struct DaemonLifeTests {
    private static func temporaryRoot() throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("baton-life-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        return root
    }

    private static func baton(_ arguments: [String]) async throws -> BatonExecutable.Result {
        try await offThePool { try BatonExecutable.run(arguments) }
    }

    /// Whether some process holds `root`'s lock (taking it for a moment when nobody does).
    private static func rootLocked(_ root: String) -> Bool {
        let fd = open(root + "/daemon.lock", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return true }
        flock(fd, LOCK_UN)
        return false
    }

    @Test func statusShowsTheDaemonAndStopWaitsUntilItHasExited() async throws {
        let root = try Self.temporaryRoot()
        defer { TestNetwork.remove(root: root); try? FileManager.default.removeItem(atPath: root) }
        let daemon = try await offThePool { try DaemonProcess(root: root, extra: ["--metrics", "127.0.0.1:0"]) }
        defer { daemon.stop() }
        let pid = daemon.process.processIdentifier
        #expect(try await Self.baton(["app", "create", "web", "--host", "web.test", "--upstream", "127.0.0.1:9", "--root", root]).status == 0)

        let json = try await Self.baton(["daemon", "status", "--json", "--root", root])
        #expect(json.status == 0, "\(json.stderr)")
        let info = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any] ?? [:]
        #expect(info["pid"] as? Int == Int(pid))
        #expect(info["root"] as? String == root)
        #expect(info["listen"] as? String == "127.0.0.1:\(daemon.port)")
        #expect(info["socket"] as? String == root + "/baton.sock")
        #expect((info["metrics"] as? String)?.hasPrefix("127.0.0.1:") == true)
        #expect(info["listen_tls"] == nil)
        #expect(info["apps"] as? Int == 1)
        #expect(info["sandboxes"] as? Int == 0)
        #expect((info["uptime_seconds"] as? Double ?? -1) >= 0)
        #expect(info["version"] as? String == BatonVersion.current)

        let text = try await Self.baton(["daemon", "status", "--root", root])
        #expect(text.status == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "pid       \(pid)")
        #expect(lines.contains("proxy     http://127.0.0.1:\(daemon.port)/"))
        #expect(lines.contains("https     off"))
        #expect(lines.contains("root      \(root)"))
        #expect(lines.contains("control   \(root)/baton.sock"))
        #expect(lines.contains("apps      1"))
        #expect(lines.contains("sandboxes 0 running"))

        // The ready line says where, what and which process; the stop line that it ended.
        let ready = daemon.log.split(separator: "\n").first { $0.hasPrefix("baton daemon: proxy on ") } ?? ""
        #expect(ready.hasSuffix(", root \(root) (baton \(BatonVersion.current), pid \(pid))"), "\(daemon.log)")
        #expect(!daemon.log.contains("[IPv4]"), "\(daemon.log)")

        let stopped = try await Self.baton(["daemon", "stop", "--root", root])
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(stopped.stdout == "baton daemon: stopped (pid \(pid))\n")
        // Returned only once the process is gone: the lock is free, the socket removed.
        #expect(!Self.rootLocked(root))
        #expect(access(root + "/baton.sock", F_OK) != 0)
        try await offThePool { daemon.process.waitUntilExit() }
        #expect(daemon.process.terminationStatus == 0)
        #expect(daemon.log.hasSuffix("baton daemon: stopped (pid \(pid)); sandboxes keep running for the next daemon\n"), "\(daemon.log)")

        for command in [["daemon", "status"], ["daemon", "stop"]] {
            let none = try await Self.baton(command + ["--root", root])
            #expect(none.status != 0)
            #expect(none.stdout.isEmpty)
            #expect(none.stderr.hasPrefix("error: no daemon at \(root)/baton.sock"), "\(none.stderr)")
            #expect(none.stderr.split(separator: "\n").count == 1)
        }
    }

    @Test func stopRejectsABadTimeoutAndChangesNothing() async throws {
        let root = try Self.temporaryRoot()
        defer { TestNetwork.remove(root: root); try? FileManager.default.removeItem(atPath: root) }
        let daemon = try await offThePool { try DaemonProcess(root: root) }
        defer { daemon.stop() }
        let bad = try await Self.baton(["daemon", "stop", "--timeout", "0", "--root", root])
        #expect(bad.status != 0)
        #expect(bad.stderr.hasPrefix("error: invalid --timeout 0.0"), "\(bad.stderr)")
        #expect(bad.stderr.split(separator: "\n").count == 1)
        #expect(daemon.process.isRunning)
        #expect(try await Self.baton(["daemon", "status", "--root", root]).status == 0)
    }

    /// Each listener's port taken by another process: one line naming the address, the reason
    /// and the flag to use instead; nothing left behind (no control socket, the root unlocked).
    @Test func aPortInUseIsOneLineNamingTheFlag() async throws {
        let root = try Self.temporaryRoot()
        defer { TestNetwork.remove(root: root); try? FileManager.default.removeItem(atPath: root) }
        let taken = try ReservedPort()
        let free = "127.0.0.1:0"
        let cases: [([String], String)] = [
            (["--listen", "127.0.0.1:\(taken.port)"], "listen on 127.0.0.1:\(taken.port): address already in use (another daemon? use --listen ADDR:PORT)"),
            (["--listen", free, "--listen-tls", "127.0.0.1:\(taken.port)"],
             "listen on 127.0.0.1:\(taken.port): address already in use (another daemon? use --listen-tls ADDR:PORT)"),
            (["--listen", free, "--metrics", "127.0.0.1:\(taken.port)"],
             "serve metrics on 127.0.0.1:\(taken.port): address already in use (another daemon? use --metrics ADDR:PORT)"),
        ]
        for (flags, message) in cases {
            let result = try await Self.baton(["daemon", "--root", root, "--no-access-log"] + flags)
            #expect(result.status != 0)
            #expect(result.stderr == "error: cannot \(message)\n", "\(flags)")
            #expect(access(root + "/baton.sock", F_OK) != 0)
            #expect(!Self.rootLocked(root))
        }
    }

    /// A daemon started with a command line shorter than its sandboxes' titles: each init
    /// still shows `baton-init ID` in full, and `pgrep -f` finds it by that; the next daemon
    /// says which sandboxes it adopted.
    @Test(.enabled(if: geteuid() == 0, "requires root"))
    func sandboxTitlesAreWholeAndTheNextDaemonSaysWhatItAdopted() async throws {
        let root = try Self.temporaryRoot()
        let app = "a-rather-long-application-name-for-titles"
        var daemons: [DaemonProcess] = []
        defer {
            _ = try? BatonExecutable.run(["app", "rm", app, "--root", root])
            for daemon in daemons { daemon.stop() }
            TestNetwork.remove(root: root)
            try? FileManager.default.removeItem(atPath: root)
        }
        try DeployFixture.publishBase(root: root)
        try DeployFixture.publishSite("1", root: root)
        let first = try await offThePool { try DaemonProcess(root: root, shortCommandLine: true) }
        daemons.append(first)
        let own = try String(contentsOfFile: "/proc/\(first.process.processIdentifier)/cmdline", encoding: .utf8)
        #expect(try await Self.baton(["app", "create", app, "--host", "long.test", "--root", root]).status == 0)
        let deployed = try await Self.baton(["deploy", app, "site:1", "--root", root])
        #expect(deployed.status == 0, "\(deployed.stderr)")

        let ps = try await Self.baton(["ps", "--json", "--root", root])
        let boxes = try JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [[String: Any]] ?? []
        let box = try #require(boxes.first { $0["serving"] as? Bool == true })
        let id = try #require(box["id"] as? String), pid = try #require(box["pid"] as? Int)
        let title = "baton-init \(id)"
        // The case the kernel's argv area alone cannot hold.
        #expect(title.utf8.count >= own.utf8.count, "\(own)")
        #expect(try String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8) == title + "\u{0}")
        let found = try await offThePool { try BatonExecutable.run(["-f", "-x", title], executable: "/usr/bin/pgrep") }
        #expect(found.stdout == "\(pid)\n", "\(found.stderr)")

        let stopped = try await Self.baton(["daemon", "stop", "--root", root])
        #expect(stopped.status == 0, "\(stopped.stderr)")
        let second = try await offThePool { try DaemonProcess(root: root) }
        daemons.append(second)
        #expect(second.log.contains("adopted sandbox \(id) of \(app), still running from the last daemon"), "\(second.log)")
        #expect(try String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8) == title + "\u{0}")
    }

    /// A member of the socket's group (not root) may look, never stop the daemon or fix.
    @Test(.enabled(if: geteuid() == 0, "requires root"))
    func onlyRootStopsTheDaemonOrFixes() async throws {
        let root = try Self.temporaryRoot()
        let run = root + "-run"
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        defer {
            TestNetwork.remove(root: root)
            try? FileManager.default.removeItem(atPath: root)
            try? FileManager.default.removeItem(atPath: run)
        }
        #expect(chmod(run, 0o711) == 0)
        let socket = run + "/baton.sock"
        let daemon = try await offThePool { try DaemonProcess(root: root, extra: ["--socket", socket]) }
        defer { daemon.stop() }
        let member = ["/usr/bin/setpriv", "--reuid=65534", "--regid=0", "--clear-groups"]
        let at = ["--root", root, "--socket", socket]
        let status = try await offThePool { try BatonExecutable.run(["daemon", "status"] + at, prefix: member) }
        #expect(status.status == 0, "\(status.stderr)")
        let doctor = try await offThePool { try BatonExecutable.run(["doctor"] + at, prefix: member) }
        #expect(doctor.status == 0, "\(doctor.stderr)")
        for (command, message) in [(["daemon", "stop"], "only root may stop the daemon"), (["doctor", "--fix"], "only root may run 'baton doctor --fix'")] {
            let refused = try await offThePool { try BatonExecutable.run(command + at, prefix: member) }
            #expect(refused.status != 0)
            #expect(refused.stderr == "error: \(message)\n", "\(command)")
        }
        #expect(daemon.process.isRunning)
    }

    /// A request in flight holds the daemon up to its --shutdown-grace: `daemon stop` gives up
    /// at its --timeout with one line and a failure status, and the daemon goes on stopping.
    @Test func aStopThatOutlastsItsTimeoutIsOneErrorLine() async throws {
        let root = try Self.temporaryRoot()
        defer { TestNetwork.remove(root: root); try? FileManager.default.removeItem(atPath: root) }
        // An upstream that takes connections (in its backlog) and never answers.
        let silent = try ListeningSocket.tcp(host: "127.0.0.1", port: 0)
        defer { close(silent) }
        guard case .tcp(_, let upstream) = ListeningSocket.address(of: silent) else { throw DaemonProcessError("no address") }
        let daemon = try await offThePool { try DaemonProcess(root: root, extra: ["--shutdown-grace", "60"]) }
        defer { daemon.stop() }
        #expect(try await Self.baton(["app", "create", "slow", "--host", "slow.test", "--upstream", "127.0.0.1:\(upstream)", "--root", root]).status == 0)
        let port = daemon.port
        let request = Task { try? await offThePool { try RawHTTP.exchange(port: port, "GET / HTTP/1.1\r\nHost: slow.test\r\nConnection: close\r\n\r\n", timeout: 120) } }
        defer { request.cancel() }
        let client = ControlClient(socketPath: root + "/baton.sock")
        var inFlight = false
        for _ in 0..<600 where !inFlight {
            inFlight = (try? client.metrics())?.contains(#"baton_proxy_in_flight_requests{app="slow"} 1"#) == true
            if !inFlight { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(inFlight)
        let pid = daemon.process.processIdentifier
        let stopped = try await Self.baton(["daemon", "stop", "--timeout", "1", "--root", root])
        #expect(stopped.status == 1)
        #expect(stopped.stdout.isEmpty)
        #expect(stopped.stderr == "error: the daemon (pid \(pid)) is still stopping after 1 s: in-flight requests may hold it up to its --shutdown-grace; wait, or send it SIGKILL\n")
        #expect(daemon.process.isRunning)
    }
}
