import BatonControl
import BatonNetwork
import BatonOS
import BatonProxy
import BatonSandbox
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// `baton daemon`: the state database, the proxy and the control API of one root.
public final class Daemon: Sendable {
    public struct Options: Sendable {
        public var root: String
        public var listenHost = "127.0.0.1"
        public var listenPort = 8080
        /// Control socket; $root/baton.sock when nil.
        public var socketPath: String?
        public var proxy = ProxyConfiguration()
        /// Write the JSON access log to stdout.
        public var accessLog = true
        /// How long in-flight requests may run on after SIGTERM/SIGINT.
        public var shutdownGrace: Duration = .seconds(10)
        /// Event loop threads; the machine's core count when nil.
        public var threads: Int?
        /// Where to serve `GET /metrics` over TCP; off when nil (the control socket always has it).
        public var metricsListen: (host: String, port: Int)?
        /// Previews answer at NAME.<previewDomain>.
        public var previewDomain = Options.defaultPreviewDomain
        /// `--bridge` and `--subnet` for egress sandboxes; nil keeps the root's, or chooses.
        public var networkBridge: String?
        public var networkSubnet: IPv4Network?
        public static let defaultPreviewDomain = "preview.localhost"
        /// Each sandbox's log is rotated once past this many bytes.
        public var logMaxBytes = SandboxLog.defaultMaxBytes
        /// The ended sandboxes of each app whose logs (and records) are kept.
        public var logRetain = 5
        /// HTTPS (issue 13): `--listen-tls` (off when nil), `--local-ca`, `--default-sni`.
        public var tlsListen: (host: String, port: Int)?
        public var localCA = false
        public var defaultServerName: String?
        /// Hand-off (issue 15): the executable and arguments a successor is started with (the
        /// command line this daemon was started with); nil refuses hand-offs.
        public var executable: String?
        public var arguments: [String] = []
        /// Set when this daemon was started by a hand-off: what the old one passed.
        public var predecessor: Predecessor?
        /// Sockets from systemd's socket activation (`LISTEN_FDS`).
        public var activatedSockets: [(fd: Int32, name: String?)] = []

        public init(root: String) {
            self.root = root
        }

        public var resolvedSocketPath: String { socketPath ?? ControlClient.socketPath(root: root) }
    }

    public let options: Options
    public let proxy: Proxy
    let group: MultiThreadedEventLoopGroup
    let rootLock: RootLock
    let listeners: DaemonListeners
    let gate = ControlGate()
    let handOffs = HandOffState()
    let database: StateDatabase
    let network: SandboxNetworkService
    let service: ControlService
    let deploys: DeployService
    let certificates: CertificateService
    private let tlsAddressBox = Mutex<SocketAddress?>(nil)
    /// The proxy's bound address once it serves.
    let proxyAddress = Mutex<SocketAddress?>(nil)
    /// When this process was made (`baton daemon status`'s uptime).
    let startedAt = Date()
    let control = Mutex<ControlServer?>(nil)
    let metricsServer = Mutex<MetricsServer?>(nil)
    /// Servers replaced after a failed hand-off, whose connections `stop` still closes.
    let retiredServers = Mutex<[any RetiredServer]?>([])
    /// What `network.prepare()` made of the sandbox network at start.
    private let sandboxNetwork = Mutex<Result<NetworkSettings, BatonError>?>(nil)
    let previewReaper = Mutex<Task<Void, Never>?>(nil)
    /// This process serves the root: false for a successor until it serves, and for a daemon
    /// once it has handed over. Only the owner unlocks the root or removes the control socket.
    let ownsRoot = Mutex(false)
    /// What `requestExit` runs: set by whoever runs the daemon (`runUntilSignalled`).
    private let exitRequest = Mutex<(@Sendable () -> Void)?>(nil)
    let logger = Logger(label: "baton.daemon") { _ in StreamLogHandler.standardError(label: "baton.daemon") }

    /// Takes the root's lock (creating the root), opens the state database and builds the
    /// proxy; nothing listens yet. Throws, having changed nothing, when another daemon holds
    /// the root.
    public init(options: Options) throws {
        self.options = options
        // The root is made (0700) or checked; then its lock is taken before anything under it is
        // read or changed: a second daemon must not run recovery over the first one's
        // sandboxes and deployments, nor even tighten modes beneath it.
        try StateRoot.prepare(options.root)
        if let predecessor = options.predecessor {
            rootLock = try RootLock.adopt(descriptor: predecessor.lock, root: options.root)
        } else {
            rootLock = try RootLock.acquire(root: options.root)
        }
        // Bound before recovery, so clients queue in the backlog instead of being refused.
        listeners = try DaemonListeners.open(options: options, passed: options.predecessor?.listeners ?? [:],
                                             passedControlFromSystemd: options.predecessor?.controlFromSystemd ?? false,
                                             activated: options.activatedSockets)
        StateRoot.tighten(options.root)
        database = try StateDatabase(path: options.root + "/state.db")
        group = MultiThreadedEventLoopGroup(numberOfThreads: options.threads ?? System.coreCount)
        let accessLog: AccessLogDestination? = options.accessLog ? .fileDescriptor(STDOUT_FILENO) : nil
        var proxyConfiguration = options.proxy
        // verify: a secret per daemon run, known only to its own load generator.
        proxyConfiguration.verifyToken = proxyConfiguration.verifyToken ?? Self.verifyToken()
        proxy = Proxy(configuration: proxyConfiguration, group: group, accessLog: accessLog)
        let deployLogger = Logger(label: "baton.deploy") { _ in StreamLogHandler.standardError(label: "baton.deploy") }
        network = SandboxNetworkService(root: options.root, bridge: options.networkBridge, subnet: options.networkSubnet)
        let runtime = SandboxRuntimeService(root: options.root, database: database, network: network, logger: deployLogger,
                                            logMaxBytes: options.logMaxBytes, logRetain: options.logRetain)
        service = ControlService(database: database, routes: ProxyRoutes(database: database, proxy: proxy, runtime: runtime))
        deploys = DeployService(root: options.root, database: database, service: service, runtime: runtime, logger: deployLogger)
        certificates = try Self.makeCertificates(options: options, proxy: proxy)
    }

    /// Installs the stored routes, then starts the proxy and the control API. Returns the proxy's
    /// bound address (useful with port 0). A successor first tells its predecessor it is ready
    /// and waits until that one has let go, and says when it serves.
    @discardableResult
    public func start() async throws -> SocketAddress {
        do {
            let prepared = try network.prepare()
            sandboxNetwork.withLock { $0 = prepared }
            if let predecessor = options.predecessor { try await predecessor.readyThenWaitForGo() }
        } catch {
            await stop()
            throw error
        }
        await deploys.recover()
        if options.predecessor != nil { FaultPoint.handoffAdopted.hit() }
        let address: SocketAddress
        do {
            address = try await serve()
        } catch {
            await stop()
            throw error
        }
        if let predecessor = options.predecessor {
            do {
                try predecessor.link.send(HandoffMessage(step: .serving))
            } catch {
                // The predecessor went away meanwhile: this daemon serves the root now all the same.
                logger.warning("\(error)")
            }
            predecessor.link.close()
            rootLock.confirm()
        }
        ownsRoot.withLock { $0 = true }
        _ = ServiceManager.notify(options.predecessor == nil ? "READY=1" : "MAINPID=\(getpid())\nREADY=1")
        return address
    }

    /// Installs the stored routes and accepts on every listener: at start, and again after a
    /// failed hand-off. Leaves stopping to the caller when it throws.
    func serve() async throws -> SocketAddress {
        try await service.reloadRoutes()
        let address: SocketAddress
        do {
            address = try await proxy.start(adoptingListener: try listeners.duplicate(.proxy)!)
        } catch {
            throw BatonError(.setupFailed, "cannot listen on \(options.listenHost):\(options.listenPort): \(error)", cause: error)
        }
        proxyAddress.withLock { $0 = address }
        await deploys.setVerifyEndpoint(Self.verifyEndpoint(address), token: proxy.verifyToken ?? "")
        let tls = try await startTLS()
        tlsAddressBox.withLock { $0 = tls }
        if let (host, port) = options.metricsListen {
            do {
                let server = try await MetricsServer(adopting: try listeners.duplicate(.metrics)!, group: group, metrics: proxy.metrics)
                metricsServer.withLock { $0 = server }
            } catch {
                throw BatonError(.setupFailed, "cannot serve metrics on \(host):\(port): \(error): choose another --metrics address", cause: error)
            }
        }
        let volumes = VolumeService(database: database, store: deploys.runtime.volumes)
        var router = ControlRouter(service: service, deploys: deploys, volumes: volumes, metrics: proxy.metrics,
                                   previewDomain: options.previewDomain, certificates: certificates)
        router.gate = gate
        router.daemon = self
        let server: ControlServer
        do {
            server = try await ControlServer(adopting: try listeners.duplicate(.control)!, path: options.resolvedSocketPath,
                                             group: group, router: router, logger: logger)
        } catch {
            if let error = error as? BatonError { throw error }
            throw BatonError(.setupFailed, "cannot listen on \(options.resolvedSocketPath): \(error)", cause: error)
        }
        control.withLock { $0 = server }
        previewReaper.withLock { $0 = Self.reapExpiredPreviews(deploys) }
        return address
    }

    /// Asks whoever runs the daemon to stop it (a hand-off has succeeded).
    func requestExit() {
        exitRequest.withLock { $0 }?()
    }

    func onExitRequest(_ action: @escaping @Sendable () -> Void) {
        exitRequest.withLock { $0 = action }
    }

    /// The HTTPS listener's bound address, once started with `tlsListen`.
    public var tlsAddress: SocketAddress? {
        tlsAddressBox.withLock { $0 }
    }

    /// The address `GET /metrics` is served on over TCP, once started with `metricsListen`.
    public var metricsAddress: SocketAddress? {
        metricsServer.withLock { $0 }?.address
    }

    /// For the ready line: the sandbox network (`bridge GATEWAY/PREFIX`), or why there is none.
    public var sandboxNetworkSummary: String? {
        switch sandboxNetwork.withLock({ $0 }) {
        case .success(let settings): "sandbox network \(settings.bridge) \(settings.gateway)/\(settings.subnet.prefix)"
        case .failure(let error): "no sandbox network (\(error.message)): apps with --network egress cannot start"
        case nil: nil
        }
    }

    /// `http://ADDR:PORT/metrics` when metrics are served over TCP.
    public var metricsURL: String? {
        guard let address = metricsAddress, let ip = address.ipAddress, let port = address.port else { return nil }
        return "http://\(ip.contains(":") ? "[\(ip)]" : ip):\(port)/metrics"
    }

    /// Stops accepting on every server, lets in-flight requests finish within the grace
    /// period, closes the rest and waits until every connection has closed; only then shuts
    /// the event loops down, so nothing is ever scheduled on a loop that is gone. The
    /// sandboxes keep running for the next daemon, which may take the root once this returns.
    /// Safe to call more than once, and after a failed `start`.
    public func stop() async {
        let owner = ownsRoot.withLock { $0 }
        if owner { _ = ServiceManager.notify("STOPPING=1") }
        let control = take(self.control)
        let metrics = take(metricsServer)
        await control?.stopAccepting(removingPath: owner && !listeners.controlFromSystemd)
        await metrics?.stopAccepting()
        await proxy.shutdown(gracePeriod: options.shutdownGrace)
        await certificates.resolver.stopIssuing()
        await control?.closeConnections()
        await metrics?.closeConnections()
        for server in take(retiredServers) ?? [] { await server.closeConnections() }
        if let reaper = take(previewReaper) {
            reaper.cancel()
            await reaper.value
        }
        await deploys.shutDown()
        try? await group.shutdownGracefully()
        listeners.closeAll()
        // A daemon that handed over, or a successor that failed, leaves the lock to the other.
        if owner { rootLock.release() } else { rootLock.handOver() }
    }

    func take<Value: Sendable>(_ slot: borrowing Mutex<Value?>) -> Value? {
        slot.withLock { value in
            defer { value = nil }
            return value
        }
    }

    /// Once a second, removes the previews whose expiry has passed, until cancelled.
    private static func reapExpiredPreviews(_ deploys: DeployService) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                await deploys.removeExpiredPreviews()
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}
