import ArgumentParser
import BatonCommandLine
import BatonOS
import Glibc

/// `baton login REGISTRY [-u U] [--password-stdin | -p P]`: check and store registry
/// credentials. As `docker login`: the password from stdin (for scripts), or asked for on the
/// terminal without echo; `-p` works but warns, since an argument is visible to every local
/// user in `ps`.
struct LoginCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Check credentials against a registry and store them in <root>/auth.json (0600).",
        discussion: "Without --password-stdin or --password, asks for the user name and password on the terminal.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The registry host.", valueName: "host[:port]"))
    var registry: String

    @Option(name: [.customShort("u"), .long], help: "The user name.")
    var username: String?

    @Flag(help: "Read the password from stdin.")
    var passwordStdin = false

    @Option(name: [.customShort("p"), .long], help: "The password (visible to other local users in ps: prefer --password-stdin).")
    var password: String?

    @Flag(help: "Speak plain HTTP to the registry.")
    var insecure = false

    func validate() throws {
        if passwordStdin && password != nil { throw ValidationError("give --password-stdin or --password, not both") }
        if passwordStdin && username == nil { throw ValidationError("--password-stdin needs --username USER") }
    }

    func run() throws {
        try global.refuseRemote("login", instead: "log in on that host: its daemon pulls with the host's own credentials")
        var user = username
        var secret = password
        if password != nil {
            Output.progress("warning: a password given with --password is visible to other users of this host; use --password-stdin")
        }
        if !passwordStdin && secret == nil {
            guard isatty(STDIN_FILENO) == 1 else {
                throw BatonError(.invalidArgument, "give --username USER and --password-stdin (the password is read from stdin), or run on a terminal to be asked")
            }
            if user == nil { user = try TerminalPrompt.line("Username: ") }
            secret = try TerminalPrompt.secret("Password: ")
        }
        guard let user, !user.isEmpty else { throw BatonError(.invalidArgument, "no user name given") }
        var arguments = [registry, "--username", user, "--password-stdin"]
        if insecure { arguments.append("--insecure") }
        // The registry helper reads the password from its stdin, never from an argument.
        if let secret { try TerminalPrompt.feedStandardInput(secret) }
        RegistryExec.run("login", root: global.rootPath, arguments)
    }
}

/// Asking on the terminal, for `baton login`.
enum TerminalPrompt {
    static func line(_ prompt: String) throws -> String {
        StandardStream.write(prompt, to: STDERR_FILENO)
        guard let text = readLine(strippingNewline: true) else { throw BatonError(.invalidArgument, "no user name given") }
        return text
    }

    /// A line read with the terminal's echo off.
    static func secret(_ prompt: String) throws -> String {
        var saved = termios()
        let hasTerminal = tcgetattr(STDIN_FILENO, &saved) == 0
        if hasTerminal {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)
        }
        defer {
            if hasTerminal {
                tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
                StandardStream.write("\n", to: STDERR_FILENO)
            }
        }
        StandardStream.write(prompt, to: STDERR_FILENO)
        guard let text = readLine(strippingNewline: true), !text.isEmpty else { throw BatonError(.invalidArgument, "no password given") }
        return text
    }

    /// Makes `text` this process's stdin (a pipe holding it), for the program it execs next.
    static func feedStandardInput(_ text: String) throws {
        var fds: [Int32] = [-1, -1]
        try sys("pipe") { pipe(&fds) }
        let bytes = Array((text + "\n").utf8)
        guard bytes.count < 65536, write(fds[1], bytes, bytes.count) == bytes.count else {
            close(fds[0]); close(fds[1])
            throw BatonError(.invalidArgument, "the password is too long")
        }
        close(fds[1])
        try sys("dup2 stdin") { dup2(fds[0], STDIN_FILENO) }
        close(fds[0])
    }
}

/// `baton logout REGISTRY`: forget the stored credentials.
struct LogoutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logout",
        abstract: "Remove a registry's credentials from <root>/auth.json.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The registry host.", valueName: "host[:port]"))
    var registry: String

    func run() throws {
        try global.refuseRemote("logout", instead: "log out on that host")
        RegistryExec.run("logout", root: global.rootPath, [registry])
    }
}
