import ArgumentParser
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
            DaemonCommand.self,
            AppCommand.self,
            DeployCommand.self,
            RollbackCommand.self,
            PsCommand.self,
            LogsCommand.self,
            StopCommand.self,
            HistoryCommand.self,
            ApplyCommand.self,
            PreviewCommand.self,
        ]
    )

    public init() {}

    /// Parses and runs, turning every failure a user can cause into one `error:` line.
    public static func runMain() -> Never {
        do {
            let arguments = Array(CommandLine.arguments.dropFirst())
            // The sandbox start path skips ArgumentParser's reflection (see RunArguments).
            if arguments.first == "run", let run = RunArguments.fastParse(Array(arguments.dropFirst()), root: GlobalOptions.resolveRoot(nil)) {
                try run.run()
            }
            var command = try parseAsRoot()
            try command.run()
            Glibc.exit(0)
        } catch let exit as CommandExit {
            Glibc.exit(exit.status)
        } catch let error as BatonError {
            Output.progress("error: \(error.message)")
            Glibc.exit(error.exitStatus ?? (error.code == .notFound ? 2 : 1))
        } catch let error as OSError {
            Output.progress("error: \(error.description)")
            Glibc.exit(1)
        } catch {
            // ArgumentParser's errors: --help and --version print normally; a bad flag is one line.
            let code = exitCode(for: error)
            if code == .success {
                Output.result(fullMessage(for: error))
                Glibc.exit(0)
            }
            let text = message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments"
            Output.progress("error: \(text) (see 'baton --help')")
            Glibc.exit(code.rawValue)
        }
    }
}

/// Thrown by a command that has already said what it needs to and wants a specific status.
struct CommandExit: Error {
    let status: Int32
}

enum BatonVersion {
    static let current = "0.1.0"
}
