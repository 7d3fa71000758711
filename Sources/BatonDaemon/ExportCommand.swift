import ArgumentParser
import BatonCommandLine
import BatonExport
import BatonOS
import Glibc

/// `baton-daemon export …`: `baton export k8s|compose` parse their arguments, then exec this,
/// which links the YAML emitter and the registry client `baton` must not (Package.swift).
/// Everything is read, pushed and generated before the first byte is written, and the files
/// are written beside their destination and renamed into place: a failure leaves no output.
public struct ExportRunCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "baton-daemon export",
        abstract: "Write an app as Kubernetes manifests or a Compose file (run by 'baton export').",
        subcommands: [ExportRunKubernetes.self, ExportRunCompose.self])

    public init() {}

    public static func runMain(_ arguments: [String]) -> Never {
        umask(0o022)
        return CommandMain.run(ExportRunCommand.self, arguments, hint: "baton export --help")
    }
}

/// What both exports take: where the apps come from and where their image goes.
struct ExportRunOptions: ParsableArguments {
    @Option(name: .long) var root: String?
    @Option(name: .long) var socket: String?
    @Option(name: [.short, .customLong("file")]) var file: String?
    @Option var registry: String?
    @Flag var insecure = false
    @Flag var force = false

    var rootPath: String { StateRoot.resolve(root) }
    var socketPath: String { PathName.absolute(socket ?? rootPath + "/baton.sock") }
}

struct ExportRunKubernetes: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "k8s")
    @OptionGroup var source: ExportRunOptions
    @Argument var app: String?
    @Flag var all = false
    @Option var namespace: String?
    @Option var replicas: Int?
    @Option(name: .shortAndLong) var output: String?

    func run() throws {
        let selection = try ExportSelection(app: app, all: all, file: source.file)
        if let namespace, !ExportApp.isNamespace(namespace) {
            throw BatonError(.invalidArgument, "invalid --namespace '\(namespace)': use 1-63 lower-case letters, digits and '-'")
        }
        if let replicas, !(0...1000).contains(replicas) {
            throw BatonError(.invalidArgument, "invalid --replicas \(replicas): use 0-1000")
        }
        let destination = try output.map(ExportOutput.directory)
        var apps = try ExportSource(options: source).apps(selection)
        if let replicas { apps = apps.map { var app = $0; app.replicas = replicas; return app } }
        let files = try KubernetesExport.files(for: apps, namespace: namespace)
        if let destination {
            try destination.write(files)
            StandardStream.line("wrote \(files.map(\.path).joined(separator: ", ")) in \(destination.path)", to: STDERR_FILENO)
        } else {
            ExportOutput.print(files)
        }
    }
}

struct ExportRunCompose: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "compose")
    @OptionGroup var source: ExportRunOptions
    @Argument var app: String
    @Option(name: .shortAndLong) var output: String?

    func run() throws {
        let destination = try output.map(ExportOutput.file)
        let apps = try ExportSource(options: source).apps(try ExportSelection(app: app, all: false, file: source.file))
        let text = try ComposeExport.file(for: apps[0])
        if let destination {
            try destination.write(text)
            StandardStream.line("wrote \(destination.path)", to: STDERR_FILENO)
        } else {
            ExportOutput.print([ExportFile(path: "-", text: text)])
        }
    }
}

/// Which apps: one by name or every one (`app` nil), of the daemon or of an apply file.
struct ExportSelection {
    var app: String?
    var file: String?

    init(app: String?, all: Bool, file: String?) throws {
        guard (app != nil) != all || (file != nil && app == nil) else {
            throw BatonError(.invalidArgument, "name one app or give --all (with -f FILE: every app the file declares, or the one named)")
        }
        self.app = app
        self.file = file
    }
}
