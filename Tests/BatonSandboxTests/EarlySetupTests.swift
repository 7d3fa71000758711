import BatonOS
@testable import BatonSandbox
import BatonTestSupport
import Foundation
import Glibc
import Testing

/// Without a user namespace or a v1 cgroup, the sandbox's init builds its root while the
/// launcher records it, on another CPU when there is one (SpawnRequest.setupBeforeRelease).
/// What it may not change: a failure there is reported like any other, nothing runs, nothing
/// is left; and the sandbox runs on the launcher's CPUs, not the set it was moved to.
@Suite(.enabled(if: isRoot, "requires root"))
struct EarlySetupTests {
    /// A bind source that is a symlink passes the launcher's checks (it names a directory)
    /// and is refused by the child when it opens it (ENOTDIR: opened with O_NOFOLLOW), the
    /// first step of building the root.
    @Test func aRootThatCannotBeBuiltIsReportedAtItsMountAndNothingRuns() throws {
        let fixture = try SandboxFixture()
        let real = fixture.root + "-real"
        let link = fixture.root + "-link"
        let marker = real + "/ran"
        try FileManager.default.createDirectory(atPath: real, withIntermediateDirectories: true)
        symlink(real, link)
        defer {
            unlink(link)
            try? FileManager.default.removeItem(atPath: real)
            fixture.finish(checking: ["early-fail"])
        }
        var spec = SandboxSpec(id: "early-fail", root: .directory(fixture.rootfs), argv: ["/bin/sh", "-c", "touch /data/ran"])
        spec.binds = [.init(source: link, target: "/data")]
        #expect(SandboxLauncher.setsUpBeforeRelease(spec, cgroup: .none, cgroupFD: nil))
        do {
            let sandbox = try SandboxLauncher(root: fixture.root).launch(spec)
            _ = try? sandbox.waitAndDestroy()
            Issue.record("a symlinked bind source was mounted")
        } catch let error as BatonError {
            #expect(error.message == "sandbox setup failed at mount /data: \(String(cString: strerror(ENOTDIR)))")
        }
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect((try? FileManager.default.contentsOfDirectory(atPath: fixture.root + "/sandboxes")) ?? [] == [])
    }

    /// The launcher moves its new init off its own CPU for the setup and puts it back on its
    /// own set before the go byte; the program inherits that.
    @Test func initAndTheProgramRunOnTheLaunchersCPUs() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let own = try #require(Self.allowedCPUs(try String(contentsOfFile: "/proc/self/status", encoding: .utf8)))
        let result = try fixture.sh("cat /proc/1/status; echo ---; cat /proc/self/status")
        #expect(result.status == 0, "\(result.stderr)")
        let parts = result.stdout.components(separatedBy: "---\n")
        try #require(parts.count == 2)
        #expect(Self.allowedCPUs(parts[0]) == own, "init")
        #expect(Self.allowedCPUs(parts[1]) == own, "program")
    }

    /// A user namespace's child needs its id maps first, and a v1 cgroup's child must be
    /// moved in before it mounts anything (the mounts are charged to its cgroup).
    @Test func onlyWhatNeedsNoLauncherStepIsBuiltEarly() {
        var spec = SandboxSpec(id: "x", root: .directory("/"), argv: ["/bin/true"])
        let v1 = Cgroup(hierarchy: .v1([:]), paths: ["/sys/fs/cgroup/pids/baton/x"])
        #expect(SandboxLauncher.setsUpBeforeRelease(spec, cgroup: .none, cgroupFD: nil))
        #expect(SandboxLauncher.setsUpBeforeRelease(spec, cgroup: v1, cgroupFD: 7))
        #expect(!SandboxLauncher.setsUpBeforeRelease(spec, cgroup: v1, cgroupFD: nil))
        spec.userNamespace = true
        #expect(!SandboxLauncher.setsUpBeforeRelease(spec, cgroup: .none, cgroupFD: nil))
    }

    /// `Cpus_allowed_list` of a /proc/PID/status text.
    static func allowedCPUs(_ status: String) -> String? {
        status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") }
            .map { $0.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces) }
    }
}
