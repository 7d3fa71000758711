import ArgumentParser
import BatonOS
import Glibc

/// How `baton` and `baton-daemon` end: every failure a user can cause is one `error:` line on
/// stderr and an exit status; `--help` and `--version` print normally.
public enum CommandMain {
    /// Parses `arguments` as `Command` and runs it, then exits. `hint` names the help to read
    /// after an argument error, e.g. "baton --help".
    public static func run<Command: ParsableCommand>(_: Command.Type, _ arguments: [String], hint: String) -> Never {
        exiting(hint: hint) {
            var command = try Command.parseAsRoot(arguments)
            try command.run()
        } errorText: { error in
            (Command.exitCode(for: error), Command.fullMessage(for: error), Command.message(for: error))
        }
    }

    /// Runs `body` and exits 0, or reports what it threw.
    public static func exiting(hint: String, _ body: () throws -> Void,
                               errorText: (Error) -> (ExitCode, String, String)) -> Never {
        do {
            try body()
            Glibc.exit(0)
        } catch let exit as CommandExit {
            Glibc.exit(exit.status)
        } catch let error as BatonError {
            StandardStream.line("error: \(error.message)", to: STDERR_FILENO)
            Glibc.exit(error.exitStatus ?? (error.code == .notFound ? 2 : 1))
        } catch let error as OSError {
            StandardStream.line("error: \(error.description)", to: STDERR_FILENO)
            Glibc.exit(1)
        } catch {
            let (code, full, short) = errorText(error)
            if code == .success {
                StandardStream.line(full, to: STDOUT_FILENO)
                Glibc.exit(0)
            }
            let text = short.split(separator: "\n").first.map(String.init) ?? "invalid arguments"
            StandardStream.line("error: \(text) (see '\(hint)')", to: STDERR_FILENO)
            Glibc.exit(code.rawValue)
        }
    }
}

/// The version both executables print: `baton --version`, `baton daemon --version`.
public enum BatonVersion {
    public static let current = String(stamp.dropFirst(stampPrefix.count).prefix { $0 != " " })

    /// The version as an SCCS-style what-string padded to 40 bytes: a literal that long is kept
    /// in the binary as bytes, never folded into code, so `what`/`strings` find it and a build
    /// can be stamped with another version in place (the hand-off tests' upgrade binaries).
    static let stamp = "@(#)baton 0.1.0                         "
    public static let stampPrefix = "@(#)baton "
}

/// Thrown by a command that has already said what it needs to and wants a specific status.
public struct CommandExit: Error {
    public let status: Int32

    public init(status: Int32) {
        self.status = status
    }
}

/// Whole lines to stdout or stderr, retrying short writes (a pipe may take them in pieces).
public enum StandardStream {
    public static func line(_ text: String, to fd: Int32) {
        write(text + "\n", to: fd)
    }

    /// `text` as it is (a prompt, say), with no newline added.
    public static func write(_ text: String, to fd: Int32) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            bytes = bytes.dropFirst(written)
        }
    }
}
