import BatonTestSupport
import Foundation
import Testing

/// cgroup limits: enforced, reported, and removed afterwards.
@Suite(.enabled(if: isRoot, "requires root"))
struct LimitsTests {
    @Test func aForkBombStopsAtThePidsLimit() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish(checking: ["forkbomb"]) }
        let result = try fixture.run(["--name", "forkbomb", "--pids", "16", "--timeout", "20"], ["/probe", "forkbomb"])
        // Init and the probe hold two of the 16.
        #expect(result.stdout == "14 EAGAIN\n", "\(result.stdout)")
        #expect(result.status != 124)
    }

    @Test func aMemoryHogIsOOMKilledAndReported() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish(checking: ["hog"]) }
        let result = try fixture.run(["--name", "hog", "--memory", "32m", "--timeout", "30"], ["/probe", "hog"])
        #expect(result.status == 137)
        #expect(result.stderr.contains("ran out of memory"), "\(result.stderr)")
    }

    @Test func theCgroupNamespaceIsRootedAtTheSandbox() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish(checking: ["limited"]) }
        let result = try fixture.run(["--name", "limited", "--memory", "64m", "--pids", "50", "--cpus", "0.5"],
                                     ["/bin/sh", "-c", "cat /proc/self/cgroup | grep -E 'memory|pids' | sort"])
        #expect(result.status == 0, "\(result.stderr)")
        // The cgroup namespace is rooted at the sandbox's own cgroup.
        #expect(result.stdout.split(separator: "\n").count == 2)
        #expect(result.stdout.split(separator: "\n").allSatisfy { $0.hasSuffix(":/") }, "\(result.stdout)")
    }

    @Test func cgroupFilesCarryTheLimitsWhileRunning() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish(checking: ["watched"]) }
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: BatonBinary.path)
        process.arguments = ["run", "--name", "watched", "--memory", "64m", "--pids", "50", "--cpus", "0.5", "--rootfs", fixture.rootfs, "--", "/bin/sleep", "2"]
        process.environment = ["BATON_ROOT": fixture.root]
        try process.run()
        defer { process.waitUntilExit() }
        let base = "/sys/fs/cgroup"
        var memory: String?
        for _ in 0..<100 where memory == nil {
            usleep(20_000)
            memory = try? String(contentsOfFile: "\(base)/memory/baton/watched/memory.limit_in_bytes", encoding: .utf8)
        }
        #expect(memory == "67108864\n")
        #expect(try String(contentsOfFile: "\(base)/pids/baton/watched/pids.max", encoding: .utf8) == "50\n")
        #expect(try String(contentsOfFile: "\(base)/cpu/baton/watched/cpu.cfs_quota_us", encoding: .utf8) == "50000\n")
    }
}
