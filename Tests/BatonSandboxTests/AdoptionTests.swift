import BatonOS
import BatonSandbox
import Foundation
import Glibc
import Testing

/// A daemon restarted after `kill -9` takes over the sandboxes its predecessor started.
@Suite(.enabled(if: isRoot, "requires root"))
struct AdoptionTests {
    func launchDetached(_ fixture: SandboxFixture, id: String, script: String) throws -> (SandboxLog, ProcessIdentity) {
        var spec = SandboxSpec(id: id, root: .directory(fixture.rootfs), argv: ["/bin/sh", "-c", script])
        spec.cgroupAccounting = true
        let logs = fixture.root + "/logs-\(id)"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        spec.log = SandboxLog(directory: logs)
        let sandbox = try SandboxLauncher(root: fixture.root).launch(spec)
        let identity = try #require(ProcessIdentity.of(pid: sandbox.pid))
        sandbox.detach()
        return (spec.log!, identity)
    }

    @Test func aDetachedSandboxIsAdoptedAndStoppedGracefully() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish(checking: ["adopted"]) }
        let (log, identity) = try launchDetached(fixture, id: "adopted", script: "trap 'echo stopping; exit 0' TERM; echo up; while :; do sleep 0.05; done")
        // Whatever happens below, the detached sandbox does not outlive the test.
        defer { if identity.isAlive { Glibc.kill(identity.pid, SIGKILL); for _ in 0..<3000 where identity.isAlive { usleep(10_000) } } }
        let sandbox = try adoptWhenFree(fixture, id: "adopted")
        #expect(sandbox.pid == identity.pid)
        #expect(sandbox.cgroup.hasProcesses)
        // Stop only once the shell has set its trap (it prints "up" after), or SIGTERM would
        // find the default action and the test would race the shell's start.
        for _ in 0..<500 where ((try? String(contentsOfFile: log.path, encoding: .utf8)) ?? "").isEmpty { usleep(10_000) }
        sandbox.stop(grace: 10)
        sandbox.destroy()
        #expect(!identity.isAlive)
        #expect(try String(contentsOfFile: log.path, encoding: .utf8) == "up\nstopping\n")
    }

    /// `Sandbox.adopt`, waiting out a sandbox another test is starting meanwhile: its clone
    /// holds a copy of every descriptor of this process (our directory's lock among them)
    /// until its first step closes them, and adopt refuses a locked directory (30 s at most).
    func adoptWhenFree(_ fixture: SandboxFixture, id: String) throws -> Sandbox {
        for _ in 0..<3000 {
            do {
                return try Sandbox.adopt(root: fixture.root, id: id)
            } catch let error as BatonError where error.code == .conflict {
                usleep(10_000)
            }
        }
        return try Sandbox.adopt(root: fixture.root, id: id)
    }

    @Test func aSandboxHeldByItsLauncherIsNotAdopted() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish(checking: ["held"]) }
        var spec = SandboxSpec(id: "held", root: .directory(fixture.rootfs), argv: ["/bin/sleep", "30"])
        spec.cgroupAccounting = true
        let sandbox = try SandboxLauncher(root: fixture.root).launch(spec)
        defer { sandbox.kill(); _ = try? sandbox.wait(); sandbox.destroy() }
        #expect(throws: BatonError.self) { try Sandbox.adopt(root: fixture.root, id: "held") }
    }

    @Test func aStoppedSandboxCannotBeAdoptedEvenIfItsRecordRemains() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish(checking: ["gone"]) }
        let (_, identity) = try launchDetached(fixture, id: "gone", script: "exec sleep 30")
        kill(identity.pid, SIGKILL)
        for _ in 0..<200 where identity.isAlive { usleep(10_000) }
        do {
            _ = try Sandbox.adopt(root: fixture.root, id: "gone")
            Issue.record("adopted a sandbox whose init is gone")
        } catch let error as BatonError {
            #expect(error.code == .notFound)
        }
        // What it left is swept by the next launch.
        var next = SandboxSpec(id: "after", root: .directory(fixture.rootfs), argv: ["/bin/true"])
        next.cgroupAccounting = true
        let after = try SandboxLauncher(root: fixture.root).launch(next)
        _ = try after.wait()
        after.destroy()
    }
}
