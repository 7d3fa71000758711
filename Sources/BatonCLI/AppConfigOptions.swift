import ArgumentParser

/// The flags of an app's configuration, which `app create` sets and `app set` changes.
struct AppConfigOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Port the app listens on in its sandbox (its PORT).", valueName: "n"))
    var port: Int?

    @Option(help: ArgumentHelp("Health check path.", valueName: "path"))
    var healthPath: String?

    @Option(help: ArgumentHelp("Health check status expected.", valueName: "code"))
    var healthStatus: Int?

    @Option(help: ArgumentHelp("Seconds a new sandbox has to become healthy.", valueName: "seconds"))
    var healthTimeout: Double?

    @Option(help: ArgumentHelp("Seconds the old sandbox may finish requests after a swap.", valueName: "seconds"))
    var drainTimeout: Double?

    @Option(help: ArgumentHelp("Memory limit of the app's sandboxes (app set: 0 removes it).", valueName: "bytes"))
    var memory: Int64?

    @Option(help: ArgumentHelp("Process limit of the app's sandboxes (app set: 0 removes it).", valueName: "n"))
    var pids: Int?

    @Option(help: ArgumentHelp("CPU limit of the app's sandboxes in cores (app set: 0 removes it).", valueName: "x"))
    var cpus: Double?

    @Option(help: ArgumentHelp("Environment variable (repeatable).", valueName: "k=v"))
    var env: [String] = []

    @Option(help: ArgumentHelp("Secret: in the app's environment, never printed (repeatable); --secret-file keeps it out of the process list.", valueName: "k=v"))
    var secret: [String] = []

    @Option(name: .customLong("secret-file"), help: ArgumentHelp("Secret read from a file by this command, at most 64 KiB (repeatable).", valueName: "k=path"))
    var secretFile: [String] = []

    func validate() throws {
        for entry in secretFile where SecretFile.parse(entry) == nil {
            throw ValidationError("invalid --secret-file '\(entry)': use KEY=PATH")
        }
    }

    /// Whether a flag only a sandbox app takes is given.
    var sandboxOnlyGiven: Bool {
        port != nil || memory != nil || pids != nil || cpus != nil || !env.isEmpty || !secret.isEmpty || !secretFile.isEmpty
    }
}
