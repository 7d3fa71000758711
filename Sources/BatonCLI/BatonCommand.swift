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
        version: BatonVersion.current,
        subcommands: [
            RunCommand.self,
            ExecCommand.self,
            ArtifactCommand.self,
            DaemonExecCommand.self,
            AppCommand.self,
            DeployCommand.self,
            RollbackCommand.self,
            PsCommand.self,
            LogsCommand.self,
            StopCommand.self,
            HistoryCommand.self,
            ApplyCommand.self,
            NetworkCommand.self,
            PreviewCommand.self,
            VolumeCommand.self,
            LoginCommand.self,
            LogoutCommand.self,
        ]
    )

    public init() {}

    /// Parses and runs, turning every failure a user can cause into one `error:` line.
    public static func runMain() -> Never {
        let arguments = Array(CommandLine.arguments.dropFirst())
        // The daemon is its own executable, so this one never links NIO or SQLite.
        if arguments.first == "daemon" { DaemonExecutable.exec(Array(arguments.dropFirst())) }
        if arguments == ["help", "daemon"] { DaemonExecutable.exec(["--help"]) }
        CommandMain.exiting(hint: "baton --help") {
            // The sandbox start path skips ArgumentParser's reflection (see RunArguments).
            if arguments.first == "run", let run = RunArguments.fastParse(Array(arguments.dropFirst()), root: StateRoot.resolve(nil)) {
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
