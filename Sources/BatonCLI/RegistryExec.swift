import BatonOS
import BatonStore

/// The registry commands (`artifact push/pull`, `login`, `logout`) are parsed here, for
/// `--help` and argument errors, and run by `baton-daemon registry …`, which links the HTTP
/// client `baton` must not (Package.swift).
enum RegistryExec {
    static func run(_ subcommand: String, root: String, _ arguments: [String]) -> Never {
        DaemonExecutable.exec(["registry", subcommand, "--root", root] + arguments)
    }

    /// `baton artifact push REF DEST`: a registry destination, or (on another branch) ssh://.
    static func push(root: String, artifact: String, destination: String, insecure: Bool) throws -> Never {
        if destination.hasPrefix("ssh://") {
            throw BatonError(.invalidArgument, "pushing to ssh:// destinations is not supported by this build; push to REGISTRY/REPO[:TAG]")
        }
        _ = try Reference(parsing: artifact)
        _ = try RegistryReference(parsing: destination)
        run("push", root: root, [artifact, destination] + (insecure ? ["--insecure"] : []))
    }
}
