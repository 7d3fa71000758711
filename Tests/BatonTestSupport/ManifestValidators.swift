import Foundation

/// The outside tools that read what `baton export` writes, as another implementation would:
/// kubernetes-validate (PyPI, the Kubernetes OpenAPI schemas it bundles), and for Compose
/// files docker-compose v1 (`config`: the compose-spec schema) and podman-compose (parsing and
/// interpolation in `--dry-run up`, with echo standing in for podman). Each returns nil when
/// the tool is not installed (scripts/setup installs them), else its exit status and output.
public enum ManifestValidators {
    public struct Outcome: Sendable {
        public let status: Int32
        public let output: String
    }

    /// kubernetes-validate on PATH (a pip console script), else nil.
    public static var kubernetesValidate: String? { onPath("kubernetes-validate") }

    /// `kubernetes-validate --strict -k VERSION FILE`: every document against that release's schemas.
    public static func validateKubernetes(_ file: String, version: String = "1.30.0") -> Outcome? {
        guard let tool = kubernetesValidate else { return nil }
        return run(tool, ["--strict", "-k", version, file])
    }

    /// `docker-compose -f FILE config -q` with `environment` (the secrets it interpolates).
    public static func dockerComposeConfig(_ file: String, environment: [String: String]) -> Outcome? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/docker-compose") else { return nil }
        return run("/usr/bin/docker-compose", ["--project-directory", (file as NSString).deletingLastPathComponent, "-f", file, "config"],
                   environment: environment)
    }

    /// `podman-compose --dry-run up` with echo for podman: the commands it would run, printed.
    /// `unsetting` names variables taken out of its environment.
    public static func podmanComposeDryRun(_ file: String, environment: [String: String], unsetting: [String] = []) -> Outcome? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/podman-compose") else { return nil }
        return run("/usr/bin/podman-compose", ["--podman-path", "/bin/echo", "--dry-run", "-p", "export-check", "-f", file, "up", "--no-start"],
                   environment: environment, unsetting: unsetting)
    }

    /// `kubectl apply --dry-run=client --validate=false -f FILE` through `script`
    /// (Tests/Fixtures/kubectl_dry_run.sh), against its discovery stub on a free 127.0.0.1
    /// port: kubectl maps every kind through discovery and asks for each object even in a
    /// client dry run, so it needs a server; schema checks would need the server's OpenAPI
    /// document, so they are kubernetes-validate's. nil without /usr/bin/kubectl.
    public static func kubectlDryRun(_ file: String, script: String) throws -> Outcome? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/kubectl") else { return nil }
        return run("/bin/sh", [script, String(try ReservedPort.released()), file])
    }

    static func onPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/local/bin", "/root/.pyenv/shims"]
        return directories.map { $0 + "/" + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs under timeout(1) (120 s: a liveness bound, not a measure), stdout and stderr together.
    static func run(_ tool: String, _ arguments: [String], environment: [String: String] = [:], unsetting: [String] = []) -> Outcome {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["-s", "KILL", "120", tool] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }.filter { !unsetting.contains($0.key) }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return Outcome(status: -1, output: "\(error)")
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }
}
