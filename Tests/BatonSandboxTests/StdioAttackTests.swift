import BatonTestSupport
import Foundation
import Testing

/// A sandboxed program gets pipes for stdin, stdout and stderr, never the caller's own
/// descriptors: reopening `/proc/PID/fd/N` from inside reaches nothing of the host's.
@Suite(.enabled(if: isRoot, "requires root"))
struct StdioAttackTests {
    /// `baton ARGS` with stdin from `stdin` (a host descriptor), run to the end.
    func run(_ arguments: [String], root: String, stdin: FileHandle) throws -> (status: Int32, stdout: String) {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: BatonBinary.path)
        process.arguments = arguments
        process.environment = ["BATON_ROOT": root]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = stdin
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func hostFile(_ fixture: SandboxFixture, _ text: String) throws -> String {
        let path = fixture.root + "-stdin-\(UUID().uuidString.prefix(6))"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
        return path
    }

    @Test func aHostFileGivenAsReadOnlyStdinCannotBeReopenedForWriting() throws {
        let fixture = try SandboxFixture()
        let path = try hostFile(fixture, "precious\n")
        defer { unlink(path); fixture.finish() }
        let script = "readlink /proc/self/fd/0 | cut -d: -f1; echo pwned >> /proc/self/fd/0; echo pwned > /proc/1/fd/0; cat"
        let result = try run(["run", "--rootfs", fixture.rootfs, "--", "/bin/sh", "-c", script],
                             root: fixture.root, stdin: FileHandle(forReadingAtPath: path)!)
        #expect(result.stdout.hasPrefix("pipe\n"))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "precious\n")
    }

    @Test func execsStdinIsAPipeAndTheHostFileBehindItStaysUntouched() throws {
        let fixture = try SandboxFixture()
        let path = try hostFile(fixture, "precious\n")
        let sandbox = try ExecTests().startSandbox(fixture, id: "stdio-exec", script: "exec sleep 30")
        defer { ExecTests().stop(sandbox); unlink(path); fixture.finish(checking: ["stdio-exec"]) }
        let script = "readlink /proc/self/fd/0 | cut -d: -f1; echo pwned >> /proc/self/fd/0; read line; echo got $line"
        let result = try run(["exec", "stdio-exec", "--", "/bin/sh", "-c", script], root: fixture.root,
                             stdin: FileHandle(forReadingAtPath: path)!)
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("pipe\n"))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "precious\n")
    }

    /// An exec'd shell leaves a reader behind on a copy of its stdin and exits; what the admin
    /// types afterwards (into the same terminal or pipe) must not reach that reader.
    @Test func whatIsTypedAfterExecEndsNeverReachesTheSandbox() throws {
        let fixture = try SandboxFixture()
        let sandbox = try ExecTests().startSandbox(fixture, id: "stdio-later", script: "exec sleep 30")
        defer { ExecTests().stop(sandbox); fixture.finish(checking: ["stdio-later"]) }
        let keyboard = Pipe()
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: BatonBinary.path)
        process.arguments = ["exec", "stdio-later", "--", "/bin/sh", "-c", "exec 3<&0; cat <&3 > /tmp/stolen &"]
        process.environment = ["BATON_ROOT": fixture.root]
        process.standardInput = keyboard
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        // The exec is over; the admin goes on typing into the same terminal. (Nobody may be
        // left reading it at all: EPIPE, not SIGPIPE, for this test process.)
        signal(SIGPIPE, SIG_IGN)
        let typed = Array("typed-after-exec\n".utf8)
        _ = write(keyboard.fileHandleForWriting.fileDescriptor, typed, typed.count)
        usleep(300_000)
        let stolen = try BatonBinary.run(["exec", "stdio-later", "--", "/bin/sh", "-c", "cat /tmp/stolen 2>/dev/null; echo end"],
                                         root: fixture.root)
        try? keyboard.fileHandleForWriting.close()
        #expect(stolen.stdout == "end\n")
    }

    /// `-t`: a pty Baton owns, which the program takes as its controlling terminal (a shell's
    /// job control needs one); still not the caller's terminal.
    @Test func ttyGivesTheProgramAControllingTerminalOfItsOwn() throws {
        let fixture = try SandboxFixture()
        let sandbox = try ExecTests().startSandbox(fixture, id: "stdio-tty", script: "exec sleep 30")
        defer { ExecTests().stop(sandbox); fixture.finish(checking: ["stdio-tty"]) }
        let script = "test -t 0 && test -t 1 && echo terminal; cut -d' ' -f7 /proc/self/stat; read line; echo got $line"
        for command in [["run", "-t", "--rootfs", fixture.rootfs, "--"], ["exec", "-t", "stdio-tty", "--"]] {
            let result = try BatonBinary.run(command + ["/bin/sh", "-c", script], root: fixture.root, input: "typed\n")
            #expect(result.status == 0, "\(command[0]): \(result.stderr)")
            // A terminal ends lines with "\r\n", and echoes what is typed.
            let lines = result.stdout.split(whereSeparator: \.isNewline).map(String.init)
            #expect(lines.contains("terminal"), "\(command[0]): \(result.stdout)")
            #expect(lines.contains { Int($0).map { $0 != 0 } ?? false }, "\(command[0]): no controlling terminal: \(result.stdout)")
            #expect(lines.last == "got typed", "\(command[0]): \(result.stdout)")
        }
    }

    @Test func inputAndLargeOutputStillFlowThroughTheRelay() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let echoed = try fixture.run([], ["/bin/sh", "-c", "read a; read b; echo \"$b $a\"; echo err >&2"], input: "one\ntwo\n")
        #expect(echoed.stdout == "two one\n")
        #expect(echoed.stderr == "err\n")
        let big = try fixture.run([], ["/bin/sh", "-c", "head -c 3000000 /dev/zero | tr '\\\\0' x; exit 3"])
        #expect(big.status == 3)
        #expect(big.stdout.utf8.count == 3_000_000)
    }
}
