import ArgumentParser
import BatonCommandLine
import BatonOS
import Glibc

/// `baton daemon`: replaced by the `baton-daemon` executable installed beside `baton`, so the
/// daemon keeps this process's pid and signals while `baton` itself never links NIO or SQLite.
/// `runMain` execs before parsing; this command exists for `baton --help` and completions.
struct DaemonExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Run the proxy, the state database and the control API in the foreground.",
        discussion: "Runs the baton-daemon executable installed beside baton; see 'baton daemon --help' for its options.")

    @Argument(parsing: .allUnrecognized, help: "Options of baton-daemon.")
    var arguments: [String] = []

    func run() throws {
        DaemonExecutable.exec(arguments)
    }
}

enum DaemonExecutable {
    static let name = "baton-daemon"

    /// `baton-daemon` in the directory of the running `baton` (symlinks resolved).
    static func path() -> String {
        guard let exe = try? PathName.readLink("/proc/self/exe") else { return name }
        return PathName.parent(of: exe) + "/" + name
    }

    /// Replaces this process with `baton-daemon arguments…`; returns only to exit with an error.
    static func exec(_ arguments: [String]) -> Never {
        let executable = path()
        let argv = ([name] + arguments).map { strdup($0) } + [nil]
        execv(executable, argv)
        let code = errno
        StandardStream.line("error: cannot start the daemon: execv \(executable): \(String(cString: strerror(code))) (errno \(code)); 'baton daemon' runs the baton-daemon executable beside baton: build both ('swift build' does) or install both (scripts/build-release DIR)", to: STDERR_FILENO)
        exit(code == ENOENT ? 2 : 1)
    }
}
