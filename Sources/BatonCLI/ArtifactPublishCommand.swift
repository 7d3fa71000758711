import ArgumentParser
import BatonOS
import BatonStore

/// `baton artifact publish NAME:VERSION DIR`: pack DIR as one deterministic layer.
struct ArtifactPublishCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Pack a directory as an immutable artifact; prints its manifest digest."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The name to bind, forever.", valueName: "name:version"))
    var reference: String

    @Argument(help: ArgumentHelp("The directory to pack.", valueName: "dir"))
    var directory: String

    @Option(help: ArgumentHelp("Stack on this artifact's layers, or 'host' for the host's /usr, /bin, /sbin, /lib* (not reproducible).", valueName: "ref|host"))
    var base: String?

    @Option(help: ArgumentHelp("Where DIR lands in the artifact.", valueName: "path"))
    var dest: String = "/"

    @Option(help: ArgumentHelp("The program and arguments to run, split like a shell (quotes, backslashes).", valueName: "program args…"))
    var cmd: String?

    @Option(help: ArgumentHelp("The working directory to run in.", valueName: "path"))
    var workdir: String?

    @Option(help: ArgumentHelp("An environment variable for the program (repeatable).", valueName: "key=value"))
    var env: [String] = []

    @Option(help: ArgumentHelp("A TCP port the app listens on (repeatable).", valueName: "n"))
    var port: [Int] = []

    @Option(name: .customLong("health-path"), help: ArgumentHelp("The HTTP path a health check GETs.", valueName: "path"))
    var healthPath: String?

    func validate() throws {
        if let cmd, (try? CommandWords.split(cmd))?.isEmpty ?? true {
            throw ValidationError("--cmd '\(cmd)' must name a program (with balanced quotes)")
        }
    }

    func run() throws {
        try global.refuseRemote("artifact publish", instead: "copy artifacts there with 'baton artifact push REF ssh://HOST', or run it on that host")
        var options = PublishOptions()
        switch base {
        case nil: break
        case "host": options.base = .host
        case let ref?: options.base = .artifact(ref)
        }
        options.dest = dest
        options.cmd = try cmd.map(CommandWords.split)
        options.workingDir = workdir
        options.env = env
        options.ports = port
        options.healthPath = healthPath
        let store = try ArtifactStore(root: global.rootPath)
        let meter = ProgressMeter(label: "publishing \(reference)")
        let result = try store.publish(reference, directory: directory, options: options) { meter.update($0) }
        meter.finish()
        Output.progress("published \(result.name) (\(ProgressMeter.format(bytes: result.bytesAdded)) added)")
        Output.result(result.digest)
    }
}
