import BatonControl
import BatonNetwork
import BatonTestSupport
import Foundation
import Glibc
import Testing

/// Issue 15: a daemon restart or upgrade is invisible to clients. Each test runs a real daemon
/// with a real sandbox app, hands the root over with `baton daemon upgrade` (or SIGHUP) while
/// clients keep going, and checks what the clients saw and who serves afterwards.
@Suite(.serialized, .enabled(if: geteuid() == 0 && WrkRun.available, "requires root and wrk"))
struct DaemonHandOffTests {
    @Test func twentyRestartsAndFiveUpgradesUnderLoadFailNoRequest() throws {
        let fixture = try DeployFixture(daemonArguments: ["--shutdown-grace", "5"])
        defer { fixture.finish() }
        try fixture.publishSite("1")
        try fixture.baton(["deploy", "web", "site:1"])
        let serving = try fixture.servingSandbox()
        let upgrades = try UpgradeBinaries(versions: ["0.1.0-up1", "0.1.0-up2"])
        defer { upgrades.remove() }

        // Keep-alive and a new connection per request, at once, for as long as the hand-offs take.
        let keepAlive = try WrkRun(port: fixture.daemon.port, host: DeployFixture.host, connections: 16, limit: 600)
        let closing = try WrkRun(port: fixture.daemon.port, host: DeployFixture.host, connections: 8, limit: 600, close: true)
        var previous = fixture.daemon.process.processIdentifier
        var versions: [String] = []
        for round in 0..<25 {
            let binary = round < 20 ? nil : upgrades.paths[round % 2]
            let result = try fixture.baton(["daemon", "upgrade"] + (binary.map { ["--binary", $0] } ?? []))
            let line = try HandOffLine(result.stdout)
            #expect(line.from == previous, "round \(round): \(result.stdout)")
            #expect(line.to != previous)
            versions.append(line.toVersion)
            previous = line.to
            // The old process is gone once its connections are done (Connection: close moves them).
            #expect(waitUntilGone(line.from), "round \(round): pid \(line.from) still runs")
        }
        let keepAliveReport = keepAlive.finish()
        let closingReport = closing.finish()
        #expect(versions == Array(repeating: "0.1.0", count: 20) + ["0.1.0-up1", "0.1.0-up2", "0.1.0-up1", "0.1.0-up2", "0.1.0-up1"])
        #expect(keepAliveReport.requests > 0 && keepAliveReport.failed == 0, "\(keepAliveReport.text)")
        #expect(closingReport.requests > 0 && closingReport.failed == 0, "\(closingReport.text)")
        print("hand-off: 25 hand-offs; keep-alive \(keepAliveReport.requests) requests p99 \(keepAliveReport.p99Milliseconds) ms; "
              + "close \(closingReport.requests) requests p99 \(closingReport.p99Milliseconds) ms")

        // The same sandbox served throughout: adopted by every successor, never restarted.
        #expect(try fixture.servingSandbox().id == serving.id)
        let info = try daemonInfo(fixture)
        #expect(info["pid"] as? Int == Int(previous))
        #expect(info["version"] as? String == "0.1.0-up1")
        #expect(fixture.get()?.body == "v1\n")
        // The root's lock and socket are the successor's: a second daemon is still refused.
        let second = try BatonExecutable.run(["daemon", "--root", fixture.root, "--listen", "127.0.0.1:0"])
        #expect(second.status != 0 && second.stderr.contains("in use by another baton daemon (pid \(previous))"), "\(second.stderr)")
    }

    @Test func aLongRequestAndWebSocketsOpenAcrossTheHandOffFinishOnTheOldDaemon() throws {
        let grace = 3.0
        let fixture = try DeployFixture(daemonArguments: ["--shutdown-grace", "\(grace)"])
        defer { fixture.finish() }
        try LongLivedDrainTests.publish(fixture, version: 1)
        try fixture.baton(["app", "create", "live", "--host", LongLivedDrainTests.host, "--network", "none"])
        try fixture.baton(["deploy", "live", "live:1"])
        try fixture.publishSite("1")
        try fixture.baton(["deploy", "web", "site:1"])

        let client = try LongLivedClient(port: fixture.daemon.port, host: LongLivedDrainTests.host, webSockets: 10, streams: 2, closes: 0,
                                         waitingForFlip: false)
        defer { client.stop() }
        // /cgi-bin/slow answers after 2 s: in flight across the whole hand-off.
        let slow = SlowRequest(port: fixture.daemon.port, host: DeployFixture.host, path: "/cgi-bin/slow")
        usleep(300_000)
        let started = Date().timeIntervalSince1970
        let line = try HandOffLine(try fixture.baton(["daemon", "upgrade"]).stdout)
        #expect(slow.wait()?.body == "slow-v1\n")
        let summary = try client.summary()
        for (index, socket) in (summary["websockets"] as? [[String: Any]] ?? []).enumerated() {
            // Open until the old daemon's grace time, then closed cleanly with 1001.
            #expect(socket["end"] as? String == "close" && socket["close_code"] as? Int == 1001, "websocket \(index): \(socket)")
            #expect((socket["ended_at"] as? Double ?? 0) >= started + grace, "websocket \(index): \(socket)")
            #expect((socket["last_answer"] as? Double ?? 0) > started, "websocket \(index): \(socket)")
        }
        for (index, stream) in (summary["event_streams"] as? [[String: Any]] ?? []).enumerated() {
            #expect(stream["end"] as? String == "clean", "stream \(index): \(stream)")
            #expect((stream["ended_at"] as? Double ?? 0) >= started + grace, "stream \(index): \(stream)")
        }
        #expect((summary["websockets"] as? [Any])?.count == 10)
        #expect(waitUntilGone(line.from))
        #expect(fixture.get()?.body == "v1\n")
    }

    @Test(arguments: ["handoff-ready", "handoff-adopted"])
    func aSuccessorKilledMidHandOffLeavesTheOldDaemonServing(fault: String) throws {
        let fixture = try DeployFixture(environment: ["BATON_TEST_FAULT": fault])
        defer { fixture.finish() }
        try fixture.publishSite("1")
        try fixture.baton(["deploy", "web", "site:1"])
        let serving = try fixture.servingSandbox()
        let load = try WrkRun(port: fixture.daemon.port, host: DeployFixture.host, connections: 8, limit: 120)
        usleep(300_000)
        let refused = try fixture.baton(["daemon", "upgrade"], allowFailure: true)
        usleep(500_000)
        let report = load.finish()
        #expect(refused.status == 1)
        #expect(refused.stderr.hasPrefix("error: cannot hand over to ") && refused.stderr.contains("serves on"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        #expect(report.requests > 0 && report.failed == 0, "\(report.text)")
        // The old daemon serves on, with the same sandbox, and still takes changes.
        let original = fixture.daemon.process.processIdentifier
        #expect(try daemonInfo(fixture)["pid"] as? Int == Int(original))
        #expect(fixture.daemon.currentPID == original)
        #expect(try fixture.servingSandbox().id == serving.id)
        try fixture.publishSite("2")
        try fixture.baton(["deploy", "web", "site:2"])
        #expect(fixture.get()?.body == "v2\n")
    }

    @Test func aDeployInProgressFinishesFirstAndASecondHandOffIsRefused() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        try fixture.baton(["deploy", "web", "site:1"])
        // v2 takes 3 s to listen: its deploy is in its health check when the hand-off is asked for.
        try fixture.publishSite("2", command: "/bin/sh -c 'sleep 3; exec /bin/busybox httpd -f -p 8000 -h /www'")
        let deploy = BackgroundBaton(fixture, ["deploy", "web", "site:2", "--json"])
        usleep(1_000_000)
        let first = BackgroundBaton(fixture, ["daemon", "upgrade"])
        usleep(500_000)
        let second = try fixture.baton(["daemon", "upgrade"], allowFailure: true)
        #expect(second.status != 0)
        #expect(second.stderr.hasPrefix("error: a daemon hand-off is already running"), "\(second.stderr)")
        // A change asked for meanwhile waits, is not run by the old daemon, and runs once on the new.
        let createdAt = Date()
        let create = BackgroundBaton(fixture, ["app", "create", "other", "--host", "other.test", "--upstream", "127.0.0.1:9"])
        let deployed = deploy.wait()
        let handedOver = first.wait()
        let created = create.wait()
        #expect(created.status == 0, "\(created.stderr)")
        #expect(createdAt < deploy.endedAt && create.endedAt >= deploy.endedAt)
        #expect(try fixture.baton(["app", "ls"]).stdout.contains("other"))
        #expect(deployed.status == 0, "\(deployed.stderr)")
        let record = try JSONSerialization.jsonObject(with: Data(deployed.stdout.utf8)) as? [String: Any]
        #expect(record?["outcome"] as? String == "succeeded", "\(deployed.stdout)")
        #expect(handedOver.status == 0, "\(handedOver.stderr)")
        // The old daemon finished the swap before it handed over: the successor adopted v2's sandbox.
        #expect(deploy.endedAt <= first.endedAt)
        #expect(fixture.get()?.body == "v2\n")
    }

    /// A serving sandbox crashes just before a hand-off: its restart (a swap through the health
    /// gate, 1 s here) finishes on the old daemon first, and the successor adopts what it
    /// started; nothing is restarted twice or left behind.
    @Test func aCrashRestartUnderWayFinishesBeforeTheHandOff() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1", command: "/bin/sh -c 'sleep 1; exec /bin/busybox httpd -f -p 8000 -h /www'")
        try fixture.baton(["deploy", "web", "site:1"])
        let crashed = try fixture.servingSandbox()
        kill(Int32(crashed.pid), SIGKILL)
        // The daemon has seen the exit once the app answers 503; its restart is under way then.
        for _ in 0..<600 where fixture.get()?.status != 503 { usleep(20_000) }
        let line = try HandOffLine(try fixture.baton(["daemon", "upgrade"]).stdout)
        #expect(waitUntilGone(line.from))
        #expect(fixture.get()?.body == "v1\n")
        let history = try JSONSerialization.jsonObject(with: Data(fixture.baton(["history", "web", "--json"]).stdout.utf8))
            as? [[String: Any]] ?? []
        #expect(history.map { $0["trigger"] as? String } == ["restart", "deploy"], "\(history)")
        #expect(history.first?["outcome"] as? String == "succeeded", "\(history)")
        let running = try JSONSerialization.jsonObject(with: Data(fixture.baton(["ps", "--json"]).stdout.utf8)) as? [[String: Any]] ?? []
        #expect(running.count == 1 && running.first?["serving"] as? Bool == true && running.first?["id"] as? String != crashed.id,
                "\(running)")
    }

    @Test func badUpgradesChangeNothing() throws {
        // The socket outside the 0700 root, where a member of its group can reach it.
        let run = TempDir(prefix: "baton-upgrade-run")
        defer { run.remove() }
        chmod(run.path, 0o711)
        let fixture = try DeployFixture(daemonArguments: ["--socket", run.sub("baton.sock")])
        defer { fixture.finish() }
        let original = fixture.daemon.process.processIdentifier
        let scratch = TempDir(prefix: "baton-upgrade")
        defer { scratch.remove() }
        // An executable that is not a daemon: it exits at once, and the old daemon serves on.
        let falseCopy = scratch.path + "/baton-daemon"
        try FileManager.default.copyItem(atPath: "/bin/false", toPath: falseCopy)
        let writable = scratch.path + "/writable"
        try FileManager.default.createDirectory(atPath: writable, withIntermediateDirectories: false)
        try FileManager.default.copyItem(atPath: "/bin/true", toPath: writable + "/baton-daemon")
        chmod(writable + "/baton-daemon", 0o777)
        let cases: [([String], String)] = [
            (["--binary", falseCopy], "cannot hand over to \(falseCopy): the new daemon (pid "),
            (["--binary", scratch.path + "/missing"], "cannot upgrade to \(scratch.path)/missing"),
            (["--binary", writable + "/baton-daemon"], "must be owned by root and writable by no one else"),
            (["--binary", scratch.path], "is not an executable file"),
            (["--timeout", "0"], "invalid --timeout"),
            (["--binary", ""], "invalid --binary"),
        ]
        for (arguments, message) in cases {
            let result = try fixture.baton(["daemon", "upgrade"] + arguments, allowFailure: true)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.hasPrefix("error: ") && result.stderr.contains(message), "\(arguments): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
            #expect(try daemonInfo(fixture)["pid"] as? Int == Int(original), "\(arguments)")
        }
        // Only root may ask: a member of the socket's group (root's group, as bound) is refused.
        let member = try fixture.baton(["daemon", "upgrade"], allowFailure: true,
                                       prefix: ["/usr/bin/setpriv", "--reuid=65534", "--regid=0", "--clear-groups", "--"])
        #expect(member.status != 0 && member.stderr.contains("only root may upgrade"), "\(member.stderr)")
        #expect(fixture.daemon.currentPID == original)
        #expect(try fixture.baton(["app", "ls"]).status == 0)
    }

    /// SIGHUP, with every listener a daemon can have: HTTPS, metrics and the control socket
    /// are all served by the successor, on the same ports.
    @Test func sighupHandsOverEveryListenerToTheInstalledBinary() throws {
        let fixture = try DeployFixture(daemonArguments: ["--listen-tls", "127.0.0.1:0", "--local-ca", "--metrics", "127.0.0.1:0"])
        defer { fixture.finish() }
        try fixture.publishSite("1")
        try fixture.baton(["deploy", "web", "site:1"])
        let httpsPort = try HTTPSEndToEndTests.httpsPort(fixture.daemon)
        let metricsPort = try Self.metricsPort(fixture.daemon)
        let ca = fixture.root + "-ca.pem"
        defer { unlink(ca) }
        try fixture.baton(["cert", "ca"]).stdout.write(toFile: ca, atomically: true, encoding: .utf8)
        #expect(try HTTPSEndToEndTests.curl(DeployFixture.host, port: httpsPort, caFile: ca).body == "v1\n")

        let original = fixture.daemon.process.processIdentifier
        kill(original, SIGHUP)
        #expect(waitUntilGone(original))
        let successor = try #require(fixture.daemon.currentPID)
        #expect(successor != original)
        #expect(try daemonInfo(fixture)["pid"] as? Int == Int(successor))
        #expect(fixture.daemon.log.contains("handed over to pid \(successor)"))
        #expect(fixture.get()?.body == "v1\n")
        let https = try HTTPSEndToEndTests.curl(DeployFixture.host, port: httpsPort, caFile: ca)
        #expect(https.status == 0 && https.body == "v1\n", "\(https.stderr)")
        #expect(HTTPGet.fetch(port: metricsPort, host: "metrics", path: "/metrics")?.status == 200)
    }

    /// The metrics port from the daemon's ready line (`…, metrics on http://127.0.0.1:PORT/metrics, …`).
    private static func metricsPort(_ daemon: DaemonProcess) throws -> Int {
        guard let line = daemon.log.split(separator: "\n").first(where: { $0.hasPrefix("baton daemon: proxy on ") }),
              let range = line.range(of: "metrics on http://127.0.0.1:"),
              let port = Int(line[range.upperBound...].prefix { $0.isNumber })
        else { throw DaemonProcessError("no metrics address in the ready line: \(daemon.log)") }
        return port
    }

    /// A successor tells systemd it is the main process now (`MAINPID`), then `READY=1`.
    @Test func theSuccessorTellsSystemdItIsTheMainProcess() throws {
        let notify = try NotifySocket()
        defer { notify.close() }
        let fixture = try DeployFixture(environment: ["NOTIFY_SOCKET": notify.path])
        defer { fixture.finish() }
        #expect(notify.next() == "READY=1")
        let line = try HandOffLine(try fixture.baton(["daemon", "upgrade"]).stdout)
        #expect(notify.next() == "MAINPID=\(line.to)\nREADY=1")
    }

    /// systemd's socket activation (`systemd-socket-activate` stands in for systemd): the
    /// daemon adopts the proxy and control sockets it is given, answers the connection that
    /// started it, passes both on in a hand-off, and leaves the control socket's path to systemd.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-socket-activate")))
    func socketActivatedListenersAreAdoptedAndPassedOn() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("baton-activated-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        TestProcessLifetime.register(root: root)
        let port = try ReservedPort.released()
        let socket = root + "/baton.sock"
        let process = ChildProcess()
        let command = TestProcessLifetime.tied(["/usr/bin/systemd-socket-activate", "-l", "127.0.0.1:\(port)", "-l", socket,
                                                BatonExecutable.path, "daemon", "--root", root, "--listen", "127.0.0.1:\(port)",
                                                "--no-access-log"])
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try TestProcessLifetime.start(process)
        defer {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            if let text = try? String(contentsOfFile: root + "/daemon.lock", encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
               pid != process.processIdentifier, !DaemonProcess.isGone(pid) {
                kill(pid, SIGKILL)
                _ = waitUntilGone(pid)
            }
            try? RootNetwork.remove(root: root)
            TestNetwork.remove(root: root)
            try? FileManager.default.removeItem(atPath: root)
        }
        // The first connection starts the daemon, which accepts it from the socket it was given
        // (refused only until systemd-socket-activate listens).
        var first: (status: Int, body: String)?
        for _ in 0..<300 where first == nil {
            first = HTTPGet.fetch(port: port, host: "nothing.test", path: "/")
            if first == nil { usleep(100_000) }
        }
        #expect(first?.status == 404, "\(String(describing: first))")
        try DeployFixture.baton(["app", "create", "web", "--host", "web.test", "--upstream", "127.0.0.1:9"], root: root)
        let line = try HandOffLine(try DeployFixture.baton(["daemon", "upgrade"], root: root).stdout)
        #expect(line.from == process.processIdentifier)
        #expect(waitUntilGone(line.from))
        // The successor serves both sockets; stopping it leaves systemd's socket file in place.
        #expect(HTTPGet.fetch(port: port, host: "nothing.test", path: "/")?.status == 404)
        #expect(try DeployFixture.baton(["app", "ls"], root: root).stdout.contains("web"))
        kill(line.to, SIGTERM)
        #expect(waitUntilGone(line.to))
        var info = stat()
        #expect(lstat(socket, &info) == 0 && (info.st_mode & S_IFMT) == S_IFSOCK)
    }

    // MARK: helpers

    /// GET /v1/daemon, as JSON: who serves the root now.
    private func daemonInfo(_ fixture: DeployFixture) throws -> [String: Any] {
        let reply = try ControlClient(socketPath: fixture.socket ?? fixture.root + "/baton.sock").call("GET", "/v1/daemon")
        return (try JSONSerialization.jsonObject(with: reply) as? [String: Any]) ?? [:]
    }

    private func waitUntilGone(_ pid: Int32) -> Bool {
        for _ in 0..<600 {
            if DaemonProcess.isGone(pid) { return true }
            usleep(50_000)
        }
        return false
    }
}

/// `baton daemon: handed over from pid A (V) to pid B (W) in N ms`.
struct HandOffLine {
    let from: Int32
    let to: Int32
    let toVersion: String

    init(_ text: String) throws {
        let pattern = #"^baton daemon: handed over from pid (\d+) \(([^)]+)\) to pid (\d+) \(([^)]+)\) in \d+ ms$"#
        let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let regex = try? NSRegularExpression(pattern: pattern),
              let match = regex.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)), match.numberOfRanges == 5,
              let from = Range(match.range(at: 1), in: line).flatMap({ Int32(line[$0]) }),
              let to = Range(match.range(at: 3), in: line).flatMap({ Int32(line[$0]) }),
              let version = Range(match.range(at: 4), in: line).map({ String(line[$0]) })
        else { throw DaemonProcessError("not a hand-off line: \(text)") }
        self.from = from
        self.to = to
        toVersion = version
    }
}

/// Copies of the built baton-daemon stamped with other versions (BatonVersion's what-string,
/// rewritten in place): the same code under another version, as an upgrade would bring.
struct UpgradeBinaries {
    let directory: TempDir
    let paths: [String]

    init(versions: [String]) throws {
        directory = TempDir(prefix: "baton-upgrade")
        let built = URL(fileURLWithPath: BatonExecutable.path).deletingLastPathComponent().appendingPathComponent("baton-daemon").path
        let original = try Data(contentsOf: URL(fileURLWithPath: built))
        let stamp = Data("@(#)baton 0.1.0 ".utf8)
        var paths: [String] = []
        for (index, version) in versions.enumerated() {
            var bytes = original
            guard let found = bytes.range(of: stamp), bytes.range(of: stamp, in: found.upperBound..<bytes.count) == nil else {
                throw DaemonProcessError("the built baton-daemon does not hold its version stamp exactly once")
            }
            let replacement = Data("@(#)baton \(version)".utf8)
            bytes.replaceSubrange(found.lowerBound..<found.lowerBound + replacement.count, with: replacement)
            let directory = self.directory.path + "/\(index)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            let path = directory + "/baton-daemon"
            try bytes.write(to: URL(fileURLWithPath: path))
            chmod(path, 0o755)
            paths.append(path)
        }
        self.paths = paths
    }

    func remove() { directory.remove() }
}

/// `baton ARGS` on a thread of its own; `wait` gives its result and when it ended.
final class BackgroundBaton: @unchecked Sendable {
    // Written once before `done` is signalled and read after waiting on it.
    private var result: BatonExecutable.Result?
    private(set) var endedAt = Date.distantFuture
    private let done = DispatchSemaphore(value: 0)

    init(_ fixture: DeployFixture, _ arguments: [String]) {
        let (root, socket) = (fixture.root, fixture.socket)
        Thread.detachNewThread { [self] in
            result = try? DeployFixture.baton(arguments, root: root, socket: socket, allowFailure: true)
            endedAt = Date()
            done.signal()
        }
    }

    func wait() -> BatonExecutable.Result {
        done.wait()
        return result ?? BatonExecutable.Result(status: -1, stdout: "", stderr: "could not run baton")
    }
}

/// A datagram socket standing in for systemd's notify socket.
final class NotifySocket {
    let path: String
    private let fd: Int32

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("baton-notify-\(UUID().uuidString.prefix(8))").path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, bound == 0 else { throw DaemonProcessError("cannot bind \(path): errno \(errno)") }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The next state sent, or nil after 30 s.
    func next() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, 0)
        return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : nil
    }

    func close() {
        Glibc.close(fd)
        unlink(path)
    }
}
