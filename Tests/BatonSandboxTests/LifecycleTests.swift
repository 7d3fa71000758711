import BatonTestSupport
import Foundation
import Testing

/// Exit statuses, signals, zombies and what happens when the launcher itself dies.
@Suite(.enabled(if: isRoot, "requires root"))
struct LifecycleTests {
    @Test func exitStatusIsTheProgramsOwn() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        #expect(try fixture.sh("exit 0").status == 0)
        #expect(try fixture.sh("exit 42").status == 42)
        #expect(try fixture.run([], ["/bin/false"]).status == 1)
    }

    @Test func deathBySignalIs128PlusN() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        #expect(try fixture.sh("kill -TERM $$").status == 143)
        #expect(try fixture.sh("kill -KILL $$").status == 137)
    }

    @Test func aMissingProgramIs127WithOneErrorLine() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let result = try fixture.run([], ["no-such-program", "x"])
        #expect(result.status == 127)
        #expect(result.stderr == "error: program 'no-such-program' not found in the root\n")
        let absolute = try fixture.run([], ["/nowhere/prog"])
        #expect(absolute.status == 127)
    }

    @Test func aSetupFailureNamesTheStage() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let result = try fixture.run(["--workdir", "/does/not/exist"], ["/bin/true"])
        #expect(result.status == 1)
        #expect(result.stderr == "error: sandbox setup failed at working directory '/does/not/exist': No such file or directory\n")
    }

    @Test func badFlagsAreOneErrorLineAndChangeNothing() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        for flags in [["--memory", "lots"], ["--user", "bob"], ["--seccomp", "off"], ["--timeout", "-1"], ["--cpus", "0"]] {
            let result = try fixture.run(flags, ["/bin/true"])
            #expect(result.status != 0)
            #expect(result.stderr.hasPrefix("error: "), "\(flags): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1)
        }
        let missing = try BatonBinary.run(["run", "--rootfs", fixture.root + "/absent", "--", "/bin/true"], root: fixture.root)
        #expect(missing.stderr == "error: root directory '\(fixture.root)/absent' does not exist or is not a directory\n")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: fixture.root + "/sandboxes")) ?? []
        #expect(left.isEmpty)
    }

    @Test func zombiesAreReapedByInit() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        // Orphans re-parent to init when their parent exits; init must reap them.
        let result = try fixture.sh("for i in 1 2 3 4 5; do (sleep 0.1 &) ; done; sleep 0.6; cat /proc/[0-9]*/stat | cut -d' ' -f3 | grep -c Z")
        #expect(result.stdout == "0\n")
    }

    @Test func killMinusOneFromInsideReachesNothingOutside() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let sleeper = ChildProcess()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["30"]
        try sleeper.run()
        defer { sleeper.terminate(); sleeper.waitUntilExit() }
        let result = try fixture.sh("sleep 5 & kill -9 -1; echo survived")
        #expect(result.stdout == "survived\n")
        #expect(sleeper.isRunning)
    }

    @Test func timeoutKillsTheSandboxWith124() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish(checking: ["slow"]) }
        let started = Date()
        let result = try fixture.run(["--name", "slow", "--timeout", "1"], ["/bin/sleep", "30"])
        #expect(result.status == 124)
        #expect(result.stderr.hasPrefix("error: sandbox slow timed out after 1 s"))
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test(arguments: [("TERM", SIGTERM), ("INT", SIGINT), ("HUP", SIGHUP), ("QUIT", SIGQUIT), ("USR1", SIGUSR1), ("USR2", SIGUSR2)])
    func signalsAreForwardedToTheProgram(name: String, number: Int32) throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: BatonBinary.path)
        process.arguments = ["run", "--rootfs", fixture.rootfs, "--", "/bin/sh", "-c",
                             "trap 'echo got \(name); exit 7' \(name); echo ready; while :; do sleep 0.05; done"]
        process.environment = ["BATON_ROOT": fixture.root]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
        let reader = out.fileHandleForReading
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains("ready") {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            seen += chunk
        }
        kill(process.processIdentifier, number)
        seen += reader.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(String(decoding: seen, as: UTF8.self) == "ready\ngot \(name)\n")
        #expect(process.terminationStatus == 7)
    }

    @Test func killingTheLauncherKillsTheWholeSandbox() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish(checking: ["orphan-check"]) }
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: BatonBinary.path)
        process.arguments = ["run", "--name", "orphan-check", "--pids", "100", "--rootfs", fixture.rootfs, "--", "/bin/sh", "-c", "sleep 300 & sleep 300"]
        process.environment = ["BATON_ROOT": fixture.root]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let procs = "/sys/fs/cgroup/pids/baton/orphan-check/cgroup.procs"
        var pids: [String] = []
        for _ in 0..<100 where pids.count < 3 {
            usleep(50_000)
            pids = ((try? String(contentsOfFile: procs, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
        #expect(pids.count >= 3, "init, sh and sleeps should be running: \(pids)")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        var alive = pids
        for _ in 0..<100 where !alive.isEmpty {
            usleep(50_000)
            alive = pids.filter { FileManager.default.fileExists(atPath: "/proc/\($0)") && !isZombie($0) }
        }
        #expect(alive.isEmpty, "sandbox processes outlived the launcher: \(alive)")
        // The launcher died before it could clean up; the next launch sweeps what it left.
        let next = try fixture.run([], ["/bin/true"])
        #expect(next.status == 0)
    }

    func isZombie(_ pid: String) -> Bool {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return stat.split(separator: " ").dropFirst(2).first == "Z"
    }
}
