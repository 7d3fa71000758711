import BatonTestSupport
import Foundation
import Testing

/// `baton exec`: a program joining a running sandbox, confined like the sandbox's own.
@Suite(.enabled(if: isRoot, "requires root"))
struct ExecTests {
    /// Starts `baton run --name ID FLAGS -- sh -c SCRIPT` in the background and waits until
    /// its record is on disk.
    func startSandbox(_ fixture: SandboxFixture, id: String, flags: [String] = [], script: String) throws -> ChildProcess {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: BatonBinary.path)
        process.arguments = ["run", "--name", id] + flags + ["--rootfs", fixture.rootfs, "--", "/bin/sh", "-c", script]
        process.environment = ["BATON_ROOT": fixture.root]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let record = "\(fixture.root)/sandboxes/\(id)/sandbox.json"
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: record) { usleep(10_000) }
        usleep(100_000)  // let the program reach its sleep
        return process
    }

    func stop(_ process: ChildProcess) {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
    }

    @Test func execSeesTheSandboxsRootHostnameAndProcesses() throws {
        let fixture = try SandboxFixture()
        let sandbox = try startSandbox(fixture, id: "exec-box", flags: ["--pids", "64"], script: "echo marker > /tmp/m; exec sleep 30")
        defer { stop(sandbox); fixture.finish(checking: ["exec-box"]) }
        let result = try BatonBinary.run(["exec", "exec-box", "--", "/bin/sh", "-c",
                                          "hostname; i=0; while [ ! -s /tmp/m ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; cat /tmp/m; cat /proc/1/comm >/dev/null && ls /proc | grep -c '^[0-9]'; cut -d: -f2- /proc/self/cgroup | grep pids"],
                                         root: fixture.root)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "exec-box")
        #expect(lines.dropFirst().first == "marker")
        // init, the sandbox's sleep, the exec'd shell and its children: one pid namespace.
        #expect((Int(lines.dropFirst(2).first ?? "") ?? 0) >= 3)
        #expect(lines.last == "pids:/")
    }

    @Test func execIsConfinedLikeTheSandboxsProgram() throws {
        let fixture = try SandboxFixture()
        let sandbox = try startSandbox(fixture, id: "exec-conf", script: "exec sleep 30")
        defer { stop(sandbox); fixture.finish(checking: ["exec-conf"]) }
        let status = try BatonBinary.run(["exec", "exec-conf", "--", "/bin/sh", "-c", "grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status"], root: fixture.root)
        #expect(status.stdout == "CapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n")
        let mount = try BatonBinary.run(["exec", "exec-conf", "--", "/probe", "mount"], root: fixture.root)
        #expect(mount.stdout == "EPERM\n")
        let write = try BatonBinary.run(["exec", "exec-conf", "--", "/bin/sh", "-c", "touch /bin/x 2>&1"], root: fixture.root)
        #expect(write.stdout.contains("Read-only file system"))
    }

    @Test func exitStatusesAndErrorsPassThrough() throws {
        let fixture = try SandboxFixture()
        let sandbox = try startSandbox(fixture, id: "exec-status", script: "exec sleep 30")
        defer { stop(sandbox); fixture.finish(checking: ["exec-status"]) }
        #expect(try BatonBinary.run(["exec", "exec-status", "--", "/bin/sh", "-c", "exit 7"], root: fixture.root).status == 7)
        let missing = try BatonBinary.run(["exec", "exec-status", "--", "no-such-program"], root: fixture.root)
        #expect(missing.status == 127)
        #expect(missing.stderr == "error: program 'no-such-program' not found in the root\n")
        let unknown = try BatonBinary.run(["exec", "no-such-box", "--", "/bin/true"], root: fixture.root)
        #expect(unknown.status == 2)
        #expect(unknown.stderr == "error: no running sandbox 'no-such-box' under \(fixture.root)\n")
    }

    @Test func execIntoAUserNamespacedSandbox() throws {
        let fixture = try SandboxFixture()
        let sandbox = try startSandbox(fixture, id: "exec-userns", flags: ["--userns"], script: "exec sleep 30")
        defer { stop(sandbox); fixture.finish(checking: ["exec-userns"]) }
        let result = try BatonBinary.run(["exec", "exec-userns", "--", "/bin/sh", "-c", "id -u; cat /proc/self/uid_map | tr -s ' '"], root: fixture.root)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "0\n 0 100000 65536\n")
    }

    @Test func anExecdProgramEndsWithItsSandbox() throws {
        let fixture = try SandboxFixture()
        let sandbox = try startSandbox(fixture, id: "exec-end", script: "sleep 3")
        defer { stop(sandbox); fixture.finish(checking: ["exec-end"]) }
        let result = try BatonBinary.run(["exec", "exec-end", "--", "/bin/sleep", "60"], root: fixture.root, limit: 30)
        // The sandbox's init exits after three seconds; the kernel kills the rest of its namespace.
        #expect(result.status == 137)
    }
}
