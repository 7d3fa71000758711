import ArgumentParser
import BatonCommandLine
import BatonOS
import FoundationEssentials
import Glibc

/// `baton`: the root command. Subcommands live one per file.
public struct BatonCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "baton",
        abstract: "Run immutable artifacts in sandboxes behind a blue-green reverse proxy.",
        discussion: """
            baton --host ssh://[USER@]HOST[:PORT] COMMAND… (or BATON_HOST) runs a daemon command \
            against the daemon on another host, over your ssh and 'baton dial-stdio' there.
            """,
        version: BatonVersion.current,
        subcommands: [
            RunCommand.self,
            ExecCommand.self,
            ArtifactCommand.self,
            BuildCommand.self,
            DaemonExecCommand.self,
            DialStdioCommand.self,
            AppCommand.self,
            DeployCommand.self,
            RollbackCommand.self,
            PsCommand.self,
            DoctorCommand.self,
            LogsCommand.self,
            StopCommand.self,
            HistoryCommand.self,
            ApplyCommand.self,
            ExportCommand.self,
            NetworkCommand.self,
            PreviewCommand.self,
            VolumeCommand.self,
            CertCommand.self,
            LoginCommand.self,
            LogoutCommand.self,
        ]
    )

    public init() {}

    /// Parses and runs, turning every failure a user can cause into one `error:` line.
    public static func runMain() -> Never {
        var arguments = Array(CommandLine.arguments.dropFirst())
        // The daemon is its own executable, so this one never links NIO or SQLite.
        // `baton daemon upgrade|status|stop` are clients of the daemon; any other word is its flag.
        if arguments.first == "daemon", arguments.count >= 2 {
            let rest = Array(arguments.dropFirst(2)), hint = "baton daemon \(arguments[1]) --help"
            switch arguments[1] {
            case "upgrade": CommandMain.run(DaemonUpgradeCommand.self, rest, hint: hint)
            case "status": CommandMain.run(DaemonStatusCommand.self, rest, hint: hint)
            case "stop": CommandMain.run(DaemonStopCommand.self, rest, hint: hint)
            default: break
            }
        }
        if arguments.first == "daemon" { DaemonExecutable.exec(Array(arguments.dropFirst())) }
        if arguments == ["help", "daemon"] { DaemonExecutable.exec(["--help"]) }
        CommandMain.exiting(hint: "baton --help") {
            try RemoteOption.take(from: &arguments)
            if RemoteOption.explicit != nil, arguments.first == "daemon" {
                throw BatonError(.invalidArgument, "'baton daemon' runs on the host it serves: start it there, then use baton --host from here")
            }
            // The sandbox start path skips ArgumentParser's reflection (see RunArguments).
            if arguments.first == "run", RemoteOption.value == nil, let run = RunArguments.fastParse(Array(arguments.dropFirst()), root: StateRoot.resolve(nil)) {
                try run.run()
                return
            }
            var command = try parseAsRoot(arguments)
            try command.run()
        } errorText: { error in
            (exitCode(for: error), fullMessage(for: error), message(for: error))
        }
    }
}
