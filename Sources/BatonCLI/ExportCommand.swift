import ArgumentParser
import BatonOS
import BatonStore

/// `baton export k8s|compose`: an app as it is deployed now, for a cluster or a Compose host
/// (docs/outgrowing.md). Parsed and checked here; run by `baton-daemon export`, which links the
/// YAML emitter and the registry client this executable must not (Package.swift).
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write an app as Kubernetes manifests or a Compose file: the same artifact, checks and limits.",
        subcommands: [ExportKubernetesCommand.self, ExportComposeCommand.self]
    )
}

/// Where the apps come from and where their image goes: the options both exports take.
struct ExportSourceOptions: ParsableArguments {
    @Option(name: [.short, .customLong("file")], help: ArgumentHelp("Export the apps an apply file declares (its artifacts from this host's store) instead of the daemon's.", valueName: "file.yml"))
    var file: String?
    @Option(help: ArgumentHelp("Push the artifact to this repository first and pin the image to its digest (with several apps, REGISTRY/REPO/APP each).", valueName: "registry/repo"))
    var registry: String?
    @Flag(help: "Speak plain HTTP to the registry (required for an HTTP registry, localhost included).")
    var insecure = false
    @Flag(help: "Export an artifact published on --base host anyway (its image lacks this host's /usr and /lib).")
    var force = false

    func validate() throws {
        if let registry {
            let reference = try RegistryReference(parsing: registry)
            guard reference.tag == nil, reference.digest == nil else {
                throw BatonError(.invalidArgument, "give --registry as REGISTRY/REPO, without a tag or digest: the image is pinned by the artifact's digest")
            }
        }
        if insecure && registry == nil { throw BatonError(.invalidArgument, "--insecure is for --registry") }
    }

    func arguments(global: GlobalOptions) throws -> [String] {
        try global.refuseRemote("export", instead: "run it on that host: it reads the artifacts from this host's store")
        var arguments = ["--root", global.rootPath, "--socket", global.socketPath]
        if let file { arguments += ["--file", PathName.absolute(file)] }
        if let registry { arguments += ["--registry", registry] }
        if insecure { arguments.append("--insecure") }
        if force { arguments.append("--force") }
        return arguments
    }
}

struct ExportKubernetesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "k8s",
        abstract: "Write Kubernetes manifests for an app as deployed now (Deployment by digest, probes, Service, Ingress, claims).",
        discussion: """
            Writes APP.yaml per app (kubectl apply -f DIR) and, for apps with secrets, secrets/APP.yaml with \
            placeholder values and the 'kubectl create secret' command to fill them in: no secret value is ever \
            written. Without -o, prints every document to stdout. Nothing is written unless all of it succeeds.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var source: ExportSourceOptions
    @Argument(help: "The app (with -f: only this one of the file's).")
    var app: String?
    @Flag(help: "Every deployed sandbox app (with -f: every app of the file).")
    var all = false
    @Option(help: ArgumentHelp("Put every object in this namespace.", valueName: "ns"))
    var namespace: String?
    @Option(help: ArgumentHelp("Replicas of each Deployment (default: the app's --replicas).", valueName: "n"))
    var replicas: Int?
    @Option(name: .shortAndLong, help: ArgumentHelp("Write the files into this directory (created if absent).", valueName: "dir"))
    var output: String?

    func validate() throws {
        if app != nil && all { throw BatonError(.invalidArgument, "name one app or give --all, not both") }
        if app == nil && !all && source.file == nil { throw BatonError(.invalidArgument, "name an app, or give --all or -f FILE") }
        if let replicas, !(0...1000).contains(replicas) { throw BatonError(.invalidArgument, "invalid --replicas \(replicas): use 0-1000") }
    }

    func run() throws {
        var arguments = ["export", "k8s"] + (try source.arguments(global: global))
        if let app { arguments.append(app) }
        if all || (app == nil && source.file != nil) { arguments.append("--all") }
        if let namespace { arguments += ["--namespace", namespace] }
        if let replicas { arguments += ["--replicas", String(replicas)] }
        if let output { arguments += ["--output", PathName.absolute(output)] }
        DaemonExecutable.exec(arguments)
    }
}

struct ExportComposeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compose",
        abstract: "Write a Compose file for an app as deployed now (same image digest, health check, limits).",
        discussion: "Secrets become ${KEY:?…} references to the environment of 'compose up': no secret value is ever written."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var source: ExportSourceOptions
    @Argument(help: "The app.")
    var app: String
    @Option(name: .shortAndLong, help: ArgumentHelp("Write the file here instead of stdout.", valueName: "file"))
    var output: String?

    func run() throws {
        var arguments = ["export", "compose"] + (try source.arguments(global: global)) + [app]
        if let output { arguments += ["--output", PathName.absolute(output)] }
        DaemonExecutable.exec(arguments)
    }
}
