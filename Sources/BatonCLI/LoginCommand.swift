import ArgumentParser

/// `baton login REGISTRY --username U --password-stdin`: check and store registry credentials.
struct LoginCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Check credentials against a registry and store them in <root>/auth.json (0600).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The registry host.", valueName: "host[:port]"))
    var registry: String

    @Option(help: "The user name.")
    var username: String?

    @Flag(help: "Read the password from stdin.")
    var passwordStdin = false

    @Flag(help: "Speak plain HTTP to the registry.")
    var insecure = false

    func validate() throws {
        guard username != nil, passwordStdin else {
            throw ValidationError("give --username USER and --password-stdin (the password is read from stdin)")
        }
    }

    func run() throws {
        try global.refuseRemote("login", instead: "log in on that host: its daemon pulls with the host's own credentials")
        var arguments = [registry, "--username", username ?? "", "--password-stdin"]
        if insecure { arguments.append("--insecure") }
        RegistryExec.run("login", root: global.rootPath, arguments)
    }
}

/// `baton logout REGISTRY`: forget the stored credentials.
struct LogoutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logout",
        abstract: "Remove a registry's credentials from <root>/auth.json.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The registry host.", valueName: "host[:port]"))
    var registry: String

    func run() throws {
        try global.refuseRemote("logout", instead: "log out on that host")
        RegistryExec.run("logout", root: global.rootPath, [registry])
    }
}
