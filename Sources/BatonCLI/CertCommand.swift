import ArgumentParser
import BatonControl

/// `baton cert`: the HTTPS listener's certificates, kept by the daemon (docs/tls.md).
struct CertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cert",
        abstract: "Add, list and remove the HTTPS certificates the proxy serves (needs a running daemon).",
        subcommands: [CertAddCommand.self, CertListCommand.self, CertRemoveCommand.self, CertAuthorityCommand.self])
}

/// `baton cert ls [--json]`: host, issuer, expiry and source of each certificate served.
struct CertListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List certificates.")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print one JSON array.")
    var json = false

    func run() throws {
        let certificates = try global.controlClient.certificates()
        if json { return try Output.json(certificates) }
        Output.table(["HOST", "ISSUER", "NOT AFTER", "SOURCE"],
                     certificates.map { [$0.host, TerminalEscaping.escape($0.issuer), $0.notAfter, $0.source] })
    }
}

/// `baton cert rm HOST`: stops serving the certificate of HOST and deletes it.
struct CertRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove the certificate of a host.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The host, as 'baton cert ls' shows it (a.example.com or '*.example.com').")
    var host: String

    func run() throws {
        try global.controlClient.removeCertificate(host: host)
        Output.result(host)
    }
}

/// `baton cert ca`: the daemon's local CA certificate, for clients to trust.
struct CertAuthorityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ca",
        abstract: "Print the local CA's certificate (PEM) to trust; the daemon must run with --local-ca.")

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let authority = try global.controlClient.localCA()
        Output.result(String(authority.certificate.dropLast(authority.certificate.hasSuffix("\n") ? 1 : 0)))
    }
}
