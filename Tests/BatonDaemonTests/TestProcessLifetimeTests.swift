import BatonTestSupport
import BatonOS
import Foundation
import Glibc
import Testing

/// A test process that dies (a crash, an OOM kill) takes the daemons it started and their
/// sandboxes with it: nothing of a failed run is left running.
@Suite(.serialized, .enabled(if: geteuid() == 0, "requires root"))
struct TestProcessLifetimeTests {
    static let reportVariable = "BATON_TEST_DYING_RUN_REPORT"

    /// Not a check of its own: the body of the test process the next test starts and watches
    /// die. It deploys a sandbox, reports what runs, and is killed with no cleanup at all.
    @Test(.enabled(if: ProcessInfo.processInfo.environment[reportVariable] != nil, "run by daemonsAndSandboxesDieWithTheTestProcess"))
    func aTestProcessDiesWithADaemonAndASandboxRunning() throws {
        let report = try #require(ProcessInfo.processInfo.environment[Self.reportVariable])
        let fixture = try DeployFixture()
        try fixture.publishSite("1")
        try fixture.baton(["deploy", "web", "site:1"])
        let ps = try JSONSerialization.jsonObject(with: Data(try fixture.baton(["ps", "--json"]).stdout.utf8)) as? [[String: Any]] ?? []
        let sandbox = try #require(ps.first?["pid"] as? Int)
        try "\(fixture.daemon.process.processIdentifier) \(sandbox) \(fixture.root)\n".write(toFile: report, atomically: true, encoding: .utf8)
        kill(getpid(), SIGKILL)
    }

    @Test func daemonsAndSandboxesDieWithTheTestProcess() throws {
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("baton-dying-run-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: report) }
        let run = ChildProcess()
        let command = TestProcessLifetime.tied([CommandLine.arguments[0], "--testing-library", "swift-testing",
                                                 "--filter", "aTestProcessDiesWithADaemonAndASandboxRunning"])
        run.executableURL = URL(fileURLWithPath: command[0])
        run.arguments = Array(command.dropFirst())
        run.environment = ProcessInfo.processInfo.environment.merging([Self.reportVariable: report]) { $1 }
        run.standardOutput = FileHandle.nullDevice
        run.standardError = FileHandle.nullDevice
        try TestProcessLifetime.start(run)
        run.waitUntilExit()
        #expect(run.terminationReason == .uncaughtSignal && run.terminationStatus == SIGKILL)

        let fields = try String(contentsOfFile: report, encoding: .utf8).split(whereSeparator: \.isWhitespace).map(String.init)
        try #require(fields.count == 3, "the dying run reported nothing: \(fields)")
        let daemon = try #require(Int32(fields[0]))
        let sandbox = try #require(Int32(fields[1]))
        let root = fields[2]
        let daemonIdentity = ProcessIdentity.of(pid: daemon)
        let sandboxIdentity = ProcessIdentity.of(pid: sandbox)
        defer {
            // If the test fails, still leave nothing behind.
            for identity in [daemonIdentity, sandboxIdentity] where identity?.isAlive == true { kill(identity!.pid, SIGKILL) }
            TestNetwork.remove(root: root); try? FileManager.default.removeItem(atPath: root)
        }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && (daemonIdentity?.isAlive == true || sandboxIdentity?.isAlive == true || FileManager.default.fileExists(atPath: root)) {
            usleep(20_000)
        }
        #expect(daemonIdentity?.isAlive != true, "the daemon outlived its test process")
        #expect(sandboxIdentity?.isAlive != true, "the sandbox outlived its test process")
        #expect(!FileManager.default.fileExists(atPath: root), "the reaper did not remove \(root)")
    }
}
