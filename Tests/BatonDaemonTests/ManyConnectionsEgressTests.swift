import BatonTestSupport
import Foundation
import Glibc
import Testing

/// libnftables waits on its netlink socket with select(2), and glibc aborts a process whose
/// socket so watched is numbered 1024 or above. A daemon that made a context per ruleset got a
/// high number once it held a thousand client connections, and died at its next sandbox start:
/// any HTTP client could arrange that.
@Suite(.serialized, .enabled(if: geteuid() == 0, "requires root"))
struct ManyConnectionsEgressTests {
    @Test func aDaemonHoldingOverAThousandConnectionsStillAdmitsEgressRules() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        let daemon = fixture.daemon.process.processIdentifier
        // Whatever the test runner's limit, the daemon may hold them all.
        _ = shell("prlimit --pid \(daemon) --nofile=8192:8192")
        let clients = try ConnectionHolder(port: fixture.daemon.port, count: 1200)
        defer { clients.stop() }
        try clients.waitUntil(process: daemon, holdsAtLeast: 1200)

        // An allow list is an nftables set element per sandbox: admitting it runs libnftables.
        try fixture.baton(["app", "create", "locked", "--host", "locked.test", "--egress-allow", "192.0.2.1/32:9"])
        try fixture.baton(["deploy", "locked", "site:1"])
        #expect(kill(daemon, 0) == 0, "the daemon is alive")
        #expect(HTTPGet.fetch(port: fixture.daemon.port, host: "locked.test", path: "/")?.body == "v1\n")
        clients.stop()
        try fixture.baton(["app", "rm", "locked"])
    }
}

/// A python3 child that opens `count` idle connections to 127.0.0.1:`port` and holds them
/// until `stop()`: the sockets are its, not the test process's.
final class ConnectionHolder {
    let process = ChildProcess()
    private let input = Pipe()

    init(port: Int, count: Int) throws {
        let script = """
            import resource, socket, sys
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, \(count) + 64)), hard))
            held = [socket.create_connection(("127.0.0.1", \(port))) for _ in range(\(count))]
            sys.stdin.read()
            """
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script]
        process.standardInput = input
        try TestProcessLifetime.start(process)
    }

    /// Until `process` has at least `count` descriptors open (its accepted connections).
    func waitUntil(process pid: Int32, holdsAtLeast count: Int) throws {
        let deadline = Date().addingTimeInterval(30)
        var open = 0
        while Date() < deadline {
            open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
            if open >= count { return }
            guard process.isRunning else { throw DaemonProcessError("the connection holder exited early") }
            usleep(50_000)
        }
        throw DaemonProcessError("process \(pid) holds \(open) descriptors, not \(count), after 30 s")
    }

    func stop() {
        try? input.fileHandleForWriting.close()
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
