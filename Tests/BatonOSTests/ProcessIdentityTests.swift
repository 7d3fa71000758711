import BatonTestSupport
import BatonOS
import Foundation
import Glibc
import Testing

/// /proc/PID/stat parsing: the command name may hold spaces and ')', and a zombie is not alive.
@Suite struct ProcessIdentityTests {
    @Test func thisProcessHasAnIdentityAndIsAlive() throws {
        let identity = try #require(ProcessIdentity.of(pid: getpid()))
        #expect(identity.pid == getpid())
        #expect(identity.startTime > 0)
        #expect(identity.isAlive)
        #expect(ProcessIdentity.of(pid: getpid()) == identity, "the start time does not change")
    }

    @Test func aCommandNameWithSpacesAndParenthesesIsSkipped() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-stat-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let program = directory + "/a b) c 9"
        // A link, not a copy: the command name is the last part of the path exec was given, and
        // a copy's write descriptor, inherited by a process another test forks meanwhile, made
        // the exec fail with ETXTBSY.
        try FileManager.default.createSymbolicLink(atPath: program, withDestinationPath: "/bin/sleep")
        let child = ChildProcess()
        child.executableURL = URL(fileURLWithPath: program)
        child.arguments = ["30"]
        try child.run()
        defer { if child.isRunning { kill(child.processIdentifier, SIGKILL) }; child.waitUntilExit() }

        let stat = try String(contentsOfFile: "/proc/\(child.processIdentifier)/stat", encoding: .utf8)
        #expect(stat.contains("(a b) c 9)"), "\(stat)")
        let identity = try #require(ProcessIdentity.of(pid: child.processIdentifier))
        let expected = UInt64(stat[stat.range(of: ")", options: .backwards)!.upperBound...].split(separator: " ")[19])
        #expect(identity.startTime == expected)
        #expect(identity.isAlive)
    }

    @Test func aZombieIsNotAliveAndAReusedPidIsNotTheSameProcess() throws {
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sleep"), strdup("30"), nil]
        defer { argv.forEach { free($0) } }
        #expect(posix_spawn(&pid, "/bin/sleep", nil, nil, argv, environ) == 0)
        let identity = try #require(ProcessIdentity.of(pid: pid))
        #expect(identity.isAlive)
        kill(pid, SIGKILL)
        // Not reaped yet: a zombie until waitpid.
        var zombie = false
        for _ in 0..<200 where !zombie {
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            zombie = stat.contains(") Z ")
            if !zombie { usleep(5_000) }
        }
        #expect(zombie)
        #expect(!identity.isAlive)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        #expect(ProcessIdentity.of(pid: pid) == nil)
        #expect(!ProcessIdentity(pid: getpid(), startTime: 1).isAlive, "same pid, other start time")
    }
}
