import Foundation
import Glibc
import Testing

/// An app writes terminal control sequences to its output, hoping an operator reads it on a
/// terminal: `baton logs` and a failed deploy's last log lines show them escaped there, and
/// leave them raw when piped.
@Suite(.serialized) struct TerminalOutputTests {
    static let hostile = "before\u{1B}]0;owned\u{07}\u{1B}[2Jafter"
    static let shown = #"before\x1b]0;owned\x07\x1b[2Jafter"#

    @Test func logsEscapeControlSequencesOnATerminalAndNotInAPipe() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("baton-tty-\(UUID().uuidString.prefix(8))").path
        defer { TestNetwork.remove(root: root); try? FileManager.default.removeItem(atPath: root) }
        let id = "web-0badc0de"
        try FileManager.default.createDirectory(atPath: "\(root)/logs/\(id)", withIntermediateDirectories: true)
        try (Self.hostile + "\n").write(toFile: "\(root)/logs/\(id)/output.log", atomically: true, encoding: .utf8)

        let onTerminal = try Self.onTerminal([BatonExecutable.path, "logs", id, "--root", root])
        #expect(onTerminal.status == 0, "\(onTerminal.stderr)")
        #expect(onTerminal.stdout == Self.shown + "\r\n")

        let piped = try BatonExecutable.run(["logs", id, "--root", root])
        #expect(piped.stdout == Self.hostile + "\n")
    }

    @Test(.enabled(if: geteuid() == 0, "requires root"))
    func aFailedDeploysLastLogLinesAreEscapedOnATerminal() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.baton(["app", "rm", "web"])
        try fixture.baton(["app", "create", "web", "--host", DeployFixture.host, "--health-timeout", "1"])
        // --cmd reads backslashes as escapes: `\\033` reaches printf as `\033`, ESC.
        try fixture.publishSite("hostile", command: #"/bin/sh -c 'printf "before\\033]0;owned\\007\\033[2Jafter\\n"; exec /bin/busybox httpd -f -p 8000 -h /www'"#,
                                healthPath: "/missing")
        let result = try Self.onTerminal([BatonExecutable.path, "deploy", "web", "site:hostile", "--root", fixture.root])
        #expect(result.status != 0)
        #expect(result.stdout.contains("  " + Self.shown), "\(result.stdout)")
        #expect(!result.stdout.contains("\u{1B}"), "\(result.stdout)")
    }

    /// Runs `command` with a terminal as its stdin, stdout and stderr (util-linux `script`);
    /// what it wrote comes back as `stdout`, as the terminal showed it (newlines as CR LF).
    static func onTerminal(_ command: [String]) throws -> BatonExecutable.Result {
        let quoted = command.map { "'" + $0.replacingOccurrences(of: "'", with: #"'\''"#) + "'" }.joined(separator: " ")
        return try BatonExecutable.run(["-q", "-e", "-c", quoted, "/dev/null"], executable: "/usr/bin/script")
    }
}
