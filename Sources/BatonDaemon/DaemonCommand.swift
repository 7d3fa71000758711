import ArgumentParser
import BatonCommandLine
import BatonControl
import BatonNetwork
import BatonOS
import BatonProxy
import BatonSandbox
import Foundation
import Glibc

/// `baton daemon` (the `baton-daemon` executable, which `baton daemon` execs): serves the proxy
/// and the control API until SIGTERM or SIGINT.
public struct DaemonCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "baton daemon",
        abstract: "Run the proxy, the state database and the control API in the foreground.",
        version: BatonVersion.current)

    public init() {}

    @Option(name: .long, help: ArgumentHelp("Baton's state directory (store, layers, sandboxes, state database, socket).", valueName: "dir"))
    var root: String?

    @Option(help: ArgumentHelp("Address the proxy listens on.", valueName: "addr:port"))
    var listen = "127.0.0.1:8080"

    // HTTPS (issue 13; docs/tls.md).
    @Option(help: ArgumentHelp("Also serve HTTPS here, with certificates by SNI from 'baton cert' (default: off).", valueName: "addr:port"))
    var listenTls: String?

    @Flag(help: "Issue certificates for the apps' and previews' hosts from the daemon's own CA ('baton cert ca' prints it).")
    var localCa = false

    @Option(help: ArgumentHelp("Answer HTTPS clients that send no server name (SNI) with this host's certificate (default: refuse them).", valueName: "host"))
    var defaultSni: String?

    @Option(help: ArgumentHelp("Control socket (default: <root>/baton.sock).", valueName: "path"))
    var socket: String?

    @Option(help: ArgumentHelp("Also serve Prometheus metrics at GET /metrics over TCP here (default: off; always on the control socket).", valueName: "addr:port"))
    var metrics: String?

    @Option(help: ArgumentHelp("Seconds to connect to an upstream.", valueName: "seconds"))
    var connectTimeout: Double = 5

    @Option(help: ArgumentHelp("Seconds to wait for an upstream's response head.", valueName: "seconds"))
    var responseTimeout: Double = 30

    @Option(help: ArgumentHelp("Seconds a client has to send a request head.", valueName: "seconds"))
    var headerTimeout: Double = 10

    @Option(help: ArgumentHelp("Seconds a client has to send a request body, plus one per KiB received.", valueName: "seconds"))
    var bodyTimeout: Double = 30

    @Option(help: ArgumentHelp("Seconds an idle keep-alive client connection stays open.", valueName: "seconds"))
    var idleTimeout: Double = 60

    @Option(help: ArgumentHelp("Largest request body in bytes (default: no cap).", valueName: "bytes"))
    var maxBody: Int?

    @Option(help: ArgumentHelp("Seconds in-flight requests (and WebSockets) may finish after SIGTERM or a hand-off to a new daemon.", valueName: "seconds"))
    var shutdownGrace: Double = 10

    @Option(help: ArgumentHelp("Previews answer at NAME.<domain>.", valueName: "domain"))
    var previewDomain = Daemon.Options.defaultPreviewDomain

    @Option(help: ArgumentHelp("Bridge for egress sandboxes (default: baton0 for /var/lib/baton, bt-<hash> for another root).", valueName: "name"))
    var bridge: String?

    @Option(help: ArgumentHelp("IPv4 subnet of the egress sandboxes, a /16 to /29 clear of the host's routes (default: a free /24 of 10.88.0.0/13).", valueName: "cidr"))
    var subnet: String?

    @Flag(help: "Do not write the JSON access log to stdout.")
    var noAccessLog = false

    @Option(help: ArgumentHelp("Rotate each sandbox's log once past this many bytes (output.log -> output.log.1).", valueName: "bytes"))
    var logMax: UInt64 = SandboxLog.defaultMaxBytes

    @Option(help: ArgumentHelp("Keep the logs of this many ended sandboxes per app.", valueName: "n"))
    var logRetain = 5

    public func validate() throws {
        guard Self.listenAddress(listen) != nil else {
            throw ValidationError("invalid --listen '\(listen)': use ADDR:PORT, e.g. 127.0.0.1:8080")
        }
        if let listenTls, Self.listenAddress(listenTls) == nil {
            throw ValidationError("invalid --listen-tls '\(listenTls)': use ADDR:PORT, e.g. 0.0.0.0:443")
        }
        if let defaultSni, defaultSni.contains("*") || !HostName.isValidPattern(defaultSni.lowercased()) {
            throw ValidationError("invalid --default-sni '\(defaultSni)': use a host name such as app.example.com")
        }
        if let metrics, Self.listenAddress(metrics) == nil {
            throw ValidationError("invalid --metrics '\(metrics)': use ADDR:PORT, e.g. 127.0.0.1:9090")
        }
        for (value, name) in [(connectTimeout, "--connect-timeout"), (responseTimeout, "--response-timeout"),
                              (headerTimeout, "--header-timeout"), (bodyTimeout, "--body-timeout"),
                              (idleTimeout, "--idle-timeout")] where !(value > 0) {
            throw ValidationError("invalid \(name) \(value): use a positive number of seconds")
        }
        guard !previewDomain.contains("*"), HostName.isValidPattern("a." + previewDomain.lowercased()) else {
            throw ValidationError("invalid --preview-domain '\(previewDomain)': use a DNS name such as preview.example.com")
        }
        if let maxBody, maxBody < 0 { throw ValidationError("invalid --max-body \(maxBody)") }
        if let subnet, IPv4Network(subnet) == nil {
            throw ValidationError("invalid --subnet '\(subnet)': use an IPv4 network such as 10.88.0.0/24 (host bits zero)")
        }
        if let bridge, !BridgeName.isValid(bridge) {
            throw ValidationError("invalid --bridge '\(bridge)': 1-15 of letters, digits, '-', '_', '.'")
        }
        if logMax < 4096 { throw ValidationError("invalid --log-max \(logMax): use at least 4096 bytes") }
        if logRetain < 0 { throw ValidationError("invalid --log-retain \(logRetain): use 0 or more") }
    }

    public func run() throws {
        // Everything the daemon creates under its root is private (DESIGN.md invariant 6);
        // sandboxes start with the conventional 022 again (CShims child_program.c).
        umask(0o077)
        let (host, port) = Self.listenAddress(listen)!
        var options = Daemon.Options(root: StateRoot.resolve(root))
        options.listenHost = host
        options.listenPort = port
        options.socketPath = socket.map(PathName.absolute)
        options.metricsListen = metrics.flatMap(Self.listenAddress)
        options.accessLog = !noAccessLog
        options.previewDomain = previewDomain.lowercased()
        options.networkBridge = bridge
        options.networkSubnet = subnet.flatMap { IPv4Network($0) }
        options.logMaxBytes = logMax
        options.logRetain = logRetain
        options.tlsListen = listenTls.flatMap(Self.listenAddress)
        options.localCA = localCa
        options.defaultServerName = defaultSni?.lowercased()
        options.shutdownGrace = .milliseconds(Int64(shutdownGrace * 1000))
        options.proxy.connectTimeout = .milliseconds(Int64(connectTimeout * 1000))
        options.proxy.responseHeaderTimeout = .milliseconds(Int64(responseTimeout * 1000))
        options.proxy.clientHeaderTimeout = .milliseconds(Int64(headerTimeout * 1000))
        options.proxy.clientBodyTimeout = .milliseconds(Int64(bodyTimeout * 1000))
        options.proxy.idleTimeout = .milliseconds(Int64(idleTimeout * 1000))
        options.proxy.maxBodyBytes = maxBody
        // Hand-off (issue 15): a successor runs this executable with these arguments.
        options.executable = try? PathName.readLink("/proc/self/exe")
        options.arguments = Array(CommandLine.arguments.dropFirst())
        options.activatedSockets = ServiceManager.inheritedSockets()
        options.predecessor = try Predecessor.fromEnvironment()
        let socketPath = options.resolvedSocketPath
        do {
            try run(options, host: host, port: port, socketPath: socketPath)
        } catch {
            // The old daemon serves on; it is told why this one did not take over.
            options.predecessor?.fail(error)
            throw error
        }
    }

    private func run(_ options: Daemon.Options, host: String, port: Int, socketPath: String) throws {
        try Daemon.runUntilSignalled(options: options) { daemon, address in
            var ready = "baton daemon: proxy on \(address.ipAddress ?? host):\(address.port ?? port)"
            if let tls = daemon.tlsAddress { ready += ", https on \(tls.ipAddress ?? "?"):\(tls.port ?? 0)" }
            ready += ", control socket \(socketPath)"
            if let metrics = daemon.metricsURL { ready += ", metrics on \(metrics)" }
            if let network = daemon.sandboxNetworkSummary { ready += ", \(network)" }
            ready += ", root \(options.root) (baton \(BatonVersion.current), pid \(getpid()))"
            StandardStream.line(ready, to: STDERR_FILENO)
        } onStopped: { handedOver in
            let sandboxes = handedOver ? "its successor serves the root" : "sandboxes keep running for the next daemon"
            StandardStream.line("baton daemon: stopped (pid \(getpid())); \(sandboxes)", to: STDERR_FILENO)
        }
    }

    static func listenAddress(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }
}

extension DaemonCommand {
    public static func runMain() -> Never {
        CommandMain.run(DaemonCommand.self, Array(CommandLine.arguments.dropFirst()), hint: "baton daemon --help")
    }
}
