import ArgumentParser
import BatonBuild
import BatonNetwork
import BatonOS
import BatonSandbox
import BatonStore
import Glibc

/// `baton build -f Batonfile NAME:VERSION [CONTEXT]`: bake an artifact from a Batonfile, a
/// documented subset of the Dockerfile syntax (docs/build.md), without Docker.
struct BuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build an artifact from a Batonfile; prints its manifest digest.",
        discussion: """
        Each COPY and RUN step is a layer, cached by the digest of its inputs under the root. \
        RUN executes in a sandbox confined as apps are, with no network unless --network egress. \
        Progress goes to stderr; the manifest digest is the last line of stdout.
        """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: [.customShort("f"), .customLong("file")],
            help: ArgumentHelp("The Batonfile (default: CONTEXT/Batonfile).", valueName: "file"))
    var file: String?

    @Option(help: ArgumentHelp("RUN's network: none (only loopback) or egress (outbound through Baton's bridge).", valueName: "mode"))
    var network: String = "none"

    @Flag(help: "Pull a registry FROM image over plain HTTP (required for an HTTP registry, localhost included).")
    var insecure = false

    @Option(help: ArgumentHelp("Each RUN's memory limit in bytes; k, m, g suffixes accepted.", valueName: "bytes"))
    var memory: String?

    @Option(help: "Each RUN's limit of processes and threads.")
    var pids: Int?

    @Option(help: "Each RUN's CPU limit in cores, e.g. 0.5.")
    var cpus: Double?

    @Option(help: "Kill a RUN that takes longer than this many seconds, and fail the build.")
    var timeout: Double?

    @Argument(help: ArgumentHelp("The name to bind, forever.", valueName: "name:version"))
    var reference: String

    @Argument(help: ArgumentHelp("The directory COPY reads from.", valueName: "context"))
    var context: String = "."

    func validate() throws {
        if network != "none" && network != "egress" { throw ValidationError("--network must be 'none' or 'egress'") }
        _ = try Reference.parseTag(reference)
        if let memory, ByteCount.parse(memory) == nil { throw ValidationError("--memory '\(memory)' is not a byte count (e.g. 268435456 or 256m)") }
        if let pids, pids < 1 { throw ValidationError("--pids must be at least 1") }
        if let cpus, !(cpus > 0) { throw ValidationError("--cpus must be a positive number of cores") }
        if let timeout, !(timeout > 0) { throw ValidationError("--timeout must be a positive number of seconds") }
    }

    func run() throws {
        let path = file ?? (context == "." ? "Batonfile" : context + "/Batonfile")
        let batonfile = try Batonfile(parsing: try Self.read(path), fileName: path)
        var builder = Builder(root: global.rootPath)
        builder.progress = { Output.progress($0) }
        builder.runLimits = RunLimits(memory: memory.flatMap(ByteCount.parse), pids: pids, cpus: cpus, timeout: timeout)
        let root = global.rootPath, insecure = insecure
        builder.baseResolver = BaseResolver { reference, _ in
            try RegistryExec.pullBase(root: root, reference: reference, insecure: insecure)
        }
        if network == "egress" {
            try StateRoot.prepare(global.rootPath)
            let bridge = try Bridge.ensure(root: global.rootPath, settings: try NetworkSettings.load(root: global.rootPath))
            builder.network = EgressBuildNetwork(networking: SandboxNetworking(bridge: bridge))
        }
        let result = try builder.build(batonfile, context: context, tag: reference)
        Output.progress("built \(result.name)")
        Output.result(result.digest)
    }

    /// The Batonfile's text: at most `Batonfile.maxBytes`, UTF-8.
    static func read(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw BatonError(.notFound, "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = Glibc.read(fd, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw BatonError(.invalidArgument, "cannot read \(path): \(String(cString: strerror(errno)))") }
            if count == 0 { break }
            bytes += chunk[0..<count]
            if bytes.count > Batonfile.maxBytes { throw BatonError(.invalidArgument, "\(path) is larger than \(Batonfile.maxBytes) bytes") }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw BatonError(.invalidArgument, "\(path) is not UTF-8 text")
        }
        return text
    }
}

/// RUN on the egress network: as `baton run --network egress`, an address on the root's
/// bridge for the step's sandbox, given back when it ends.
struct EgressBuildNetwork: BuildNetwork {
    let networking: SandboxNetworking

    func attach(_ spec: inout SandboxSpec) throws -> @Sendable () -> Void {
        let attached = try networking.attach(id: spec.id, hostname: spec.hostname ?? spec.id, egress: [])
        spec.network = attached.network
        spec.files += attached.files
        let networking = self.networking
        return { networking.detach(attached.lease) }
    }
}
