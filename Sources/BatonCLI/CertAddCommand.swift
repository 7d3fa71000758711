import ArgumentParser
import BatonControl
import BatonOS

/// `baton cert add HOST --cert FILE --key FILE [--force]`: the CLI reads the files and sends
/// them; the daemon checks them (it links the TLS libraries, this executable does not) and
/// serves the certificate from the next handshake on.
struct CertAddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Serve a certificate and key for a host over HTTPS, replacing any it had.",
        discussion: """
            FILE is PEM: the server's certificate first, then its intermediates. The key must match \
            it, the certificate must name HOST (or its wildcard) and be in date, and an app must \
            serve HOST; --force accepts an expired or not yet valid certificate, or a host no app \
            serves yet, with a warning.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The host: app.example.com, or '*.example.com' for a wildcard certificate.")
    var host: String

    @Option(help: ArgumentHelp("The PEM certificate chain, the server's certificate first.", valueName: "file"))
    var cert: String

    @Option(help: ArgumentHelp("The PEM private key of the certificate (unencrypted).", valueName: "file"))
    var key: String

    @Flag(help: "Accept an expired or not yet valid certificate, or a host no app serves yet.")
    var force = false

    /// The daemon refuses more too; real files are a few KiB.
    static let maxFileBytes = 1 << 20

    func run() throws {
        let request = CertificateAddRequest(host: host, certificate: try Self.read(cert, flag: "--cert"),
                                            key: try Self.read(key, flag: "--key"), force: force)
        let reply = try global.controlClient.addCertificate(request)
        for warning in reply.warnings { Output.progress("warning: " + warning) }
        let certificate = reply.certificate
        Output.result("\(certificate.host)  issuer \(TerminalEscaping.escape(certificate.issuer))  not after \(certificate.notAfter)")
    }

    /// The bytes of the regular file at `path`, refused past `maxFileBytes`.
    static func read(_ path: String, flag: String) throws(BatonError) -> [UInt8] {
        try OperatorFile.bytes(path, what: flag, limit: maxFileBytes, tooLarge: "\(maxFileBytes) bytes (1 MiB): give the PEM file")
    }
}
