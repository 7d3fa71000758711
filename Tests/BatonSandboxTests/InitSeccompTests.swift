import BatonOS
@testable import BatonSandbox
import Foundation
import Glibc
import Testing

/// The sandbox's init runs under a filter of its own: only what child_init.c calls, anything
/// else kills it. The program keeps the whole allowlist, loaded once by itself.
@Suite struct InitSeccompTests {
    @Test func initsFilterIsSmallAndAllowsNothingTheProgramMayNot() throws {
        let program = try SeccompProfile.initRules.compile()
        #expect(program.count < 32, "\(program.count) instructions")
        #expect(SeccompProfile.initRules.defaultAction == .killProcess && SeccompProfile.initRules.badArchitecture == .killProcess)
        for call in SeccompProfile.initCalls {
            #expect(SeccompProfile.allowed.contains(call), "\(call): init may not do more than the program")
        }
        #expect(SeccompProfile.initRules.fingerprint != SeccompProfile.rules.fingerprint)
    }

    @Test(.enabled(if: isRoot, "requires root"))
    func initAndTheProgramEachHaveOneFilterAndInitStillForwardsAndReaps() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish(checking: ["filtered"]) }
        let run = try BackgroundRun(fixture, name: "filtered", "sleep 300 & echo $! > /tmp/child")
        defer { run.end() }
        #expect(run.waitReady() == "ready\n")
        let initPID = try SandboxRecord.running(root: fixture.root, id: "filtered").initProcess.pid
        let programPID = try #require(Self.children(of: initPID).first, "init has no program")
        for pid in [initPID, programPID] {
            let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            #expect(status.contains("Seccomp:\t2\n") && status.contains("Seccomp_filters:\t1\n"), "pid \(pid): \(status)")
        }
        // Init forwards SIGTERM to the program (kill), reaps it and the orphaned sleep (wait4),
        // and exits with its status (exit_group): the program's `read` ends with 128+15.
        kill(initPID, SIGTERM)
        // Before stdin closes (end() closes it, and EOF would end `read` with 0): the program
        // is gone once init has forwarded the signal (30 s at most).
        for _ in 0..<3000 where kill(programPID, 0) == 0 && !Self.isZombie(programPID) { usleep(10_000) }
        #expect(run.end() == 128 + SIGTERM)
    }

    static func isZombie(_ pid: Int32) -> Bool {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return stat.split(separator: ")").last?.split(separator: " ").first == "Z"
    }

    static func children(of pid: Int32) -> [Int32] {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        return text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
}
