import BatonOS
import BatonSandbox
import BatonStore

/// `baton run REF`: the artifact's unpacked layers are the read-only root, its config the
/// defaults (command, environment, working directory, numeric user). Baton's own variables
/// come after the artifact's, as in an app's sandbox, so the same program finds its port and
/// digest either way; `--env` (the operator's) still wins.
enum ArtifactRun {
    static func spec(id: String, ref: String, root: String, command: [String]) throws -> SandboxSpec {
        let store = try ArtifactStore(root: root)
        let artifact = try store.resolve(ref)
        let config = artifact.config
        // Docker's rule: an entrypoint stays; a given program replaces the default command.
        let argv = (config.entrypoint ?? []) + (command.isEmpty ? (config.cmd ?? []) : command)
        guard !argv.isEmpty else {
            throw BatonError(.invalidArgument, "artifact \(ref) records no command: give one after '--'")
        }
        let layers = try store.unpackedLayers(of: artifact)
        var spec = SandboxSpec(id: id, root: .layers(layers), argv: argv)
        var baton = ["BATON_DIGEST=\(artifact.digest)", "BATON_SANDBOX=\(id)"]
        if let port = config.exposedPorts.min() { baton.insert("PORT=\(port)", at: 0) }
        spec.environment = SandboxSpec.merging(SandboxSpec.merging(SandboxSpec.defaultEnvironment, config.env), baton)
        spec.workdir = config.workingDir.flatMap { $0.isEmpty ? nil : $0 } ?? "/"
        spec.hostBinds = try store.hostBindPaths(of: artifact)
        spec.artifactDigest = artifact.digest
        if let user = config.user, let ids = UserSpec.parse(user) { spec.user = ids }
        return spec
    }
}
