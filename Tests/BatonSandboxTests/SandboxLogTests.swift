import BatonOS
import BatonSandbox
import Foundation
import Testing

/// Daemon sandboxes write their own output log through init, so it outlives the launcher.
@Suite(.enabled(if: isRoot, "requires root"))
struct SandboxLogTests {
    func launch(_ fixture: SandboxFixture, _ script: String, maxBytes: UInt64 = 1 << 20) throws -> (Sandbox, SandboxLog) {
        let directory = fixture.root + "/logs-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var spec = SandboxSpec(id: "log-\(UUID().uuidString.prefix(8).lowercased())", root: .directory(fixture.rootfs),
                               argv: ["/bin/sh", "-c", script])
        let log = SandboxLog(directory: directory, maxBytes: maxBytes)
        spec.log = log
        return (try SandboxLauncher(root: fixture.root).launch(spec), log)
    }

    @Test func stdoutAndStderrLandInTheLogInOrder() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let (sandbox, log) = try launch(fixture, "echo out-1; echo err-1 >&2; echo out-2; exit 3")
        let exit = try sandbox.wait()
        sandbox.destroy()
        #expect(exit.status == 3)
        #expect(try String(contentsOfFile: log.path, encoding: .utf8) == "out-1\nerr-1\nout-2\n")
    }

    @Test func theLogIsWrittenWhileTheSandboxRunsWithoutTheLauncher() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let (sandbox, log) = try launch(fixture, "echo started; sleep 30")
        defer { sandbox.kill(); _ = try? sandbox.wait(); sandbox.destroy() }
        var text = ""
        for _ in 0..<100 where text.isEmpty {
            usleep(20_000)
            text = (try? String(contentsOfFile: log.path, encoding: .utf8)) ?? ""
        }
        #expect(text == "started\n")
    }

    @Test func aChattyProgramIsCappedByRotation() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        // 4000 lines of 10 bytes against a 4 KiB cap: one rotated file and one current.
        let (sandbox, log) = try launch(fixture, "i=0; while [ $i -lt 4000 ]; do echo line-$((i % 10))xxx; i=$((i+1)); done; echo last", maxBytes: 4096)
        _ = try sandbox.wait()
        sandbox.destroy()
        let current = try FileManager.default.attributesOfItem(atPath: log.path)[.size] as? Int ?? -1
        let rotated = try FileManager.default.attributesOfItem(atPath: log.rotatedPath)[.size] as? Int ?? -1
        #expect(current > 0 && current <= 4096 + 16384)
        #expect(rotated > 0 && rotated <= 4096 + 16384)
        #expect(try String(contentsOfFile: log.path, encoding: .utf8).hasSuffix("last\n"))
    }
}
