import BatonControl
import BatonOS
import Glibc
import Synchronization

/// The daemon's listening sockets, held as descriptors of its own for its whole life, so that
/// it can pass them to a successor (a hand-off) and accept on them again if that fails. Each
/// server adopts a duplicate. Where one comes from, in order: the daemon this one succeeds,
/// systemd's socket activation (`LISTEN_FDS`, matched by address), or a bind of its own.
final class DaemonListeners: Sendable {
    /// In the order they are opened: the control socket last, so a port in use leaves no
    /// socket file behind.
    enum Kind: String, CaseIterable, Sendable {
        case proxy, tls, metrics, control
    }

    private let descriptors: [Kind: Int32]
    /// systemd made the control socket: its path is systemd's, never removed by the daemon.
    let controlFromSystemd: Bool

    private let closed = Mutex(false)

    private init(descriptors: [Kind: Int32], controlFromSystemd: Bool) {
        self.descriptors = descriptors
        self.controlFromSystemd = controlFromSystemd
    }

    deinit { closeAll() }

    /// What `options` asks for. Passed descriptors not asked for are closed; so is everything,
    /// on a throw.
    /// `passedControlFromSystemd`: the predecessor's control socket came from systemd.
    static func open(options: Daemon.Options, passed: [Kind: Int32], passedControlFromSystemd: Bool = false,
                     activated: [(fd: Int32, name: String?)]) throws -> DaemonListeners {
        var wanted: [Kind: ListenAddress] = [.proxy: .tcp(host: options.listenHost, port: options.listenPort),
                                             .control: .unix(path: options.resolvedSocketPath)]
        if let (host, port) = options.tlsListen { wanted[.tls] = .tcp(host: host, port: port) }
        if let (host, port) = options.metricsListen { wanted[.metrics] = .tcp(host: host, port: port) }
        var unused = Set(activated.map(\.fd))
        var opened: [Kind: Int32] = [:]
        var controlFromSystemd = passedControlFromSystemd && passed[.control] != nil
        defer {
            for fd in unused { close(fd) }
            for (kind, fd) in passed where opened[kind] != fd { close(fd) }
        }
        do {
            for kind in Kind.allCases {
                guard let address = wanted[kind] else { continue }
                if let fd = passed[kind] {
                    opened[kind] = fd
                } else if let fd = activated.first(where: { unused.contains($0.fd) && matches($0.fd, address) })?.fd {
                    unused.remove(fd)
                    opened[kind] = fd
                    controlFromSystemd = controlFromSystemd || kind == .control
                } else {
                    opened[kind] = try bind(kind, address, options: options)
                }
            }
        } catch {
            // Passed ones too: the defer below closes only the passed ones never opened.
            for fd in opened.values { close(fd) }
            throw error
        }
        return DaemonListeners(descriptors: opened, controlFromSystemd: controlFromSystemd)
    }

    /// A close-on-exec duplicate for a server to own; nil when the daemon has no such listener.
    func duplicate(_ kind: Kind) throws -> Int32? {
        guard let fd = descriptors[kind] else { return nil }
        return try sys("dup \(kind.rawValue) listener") { fcntl(fd, F_DUPFD_CLOEXEC, 3) }
    }

    /// The descriptors to pass on, with their kinds, in one order.
    var all: [(kind: Kind, fd: Int32)] {
        Kind.allCases.compactMap { kind in descriptors[kind].map { (kind, $0) } }
    }

    /// Once; the servers' own duplicates are theirs to close.
    func closeAll() {
        let first = closed.withLock { closed in
            defer { closed = true }
            return !closed
        }
        guard first else { return }
        for fd in descriptors.values { close(fd) }
    }

    private static func matches(_ fd: Int32, _ address: ListenAddress) -> Bool {
        guard let bound = ListeningSocket.address(of: fd) else { return false }
        switch address {
        case .unix(let path): return bound == .unix(path: path)
        case .tcp(let host, let port):
            return ListeningSocket.addresses(host: host, port: port).contains(bound)
        }
    }

    private static func bind(_ kind: Kind, _ address: ListenAddress, options: Daemon.Options) throws -> Int32 {
        do {
            switch address {
            case .tcp(let host, let port):
                return try ListeningSocket.tcp(host: host, port: port)
            case .unix(let path):
                try refuseLiveDaemon(at: path)
                return try ListeningSocket.unix(path: path)
            }
        } catch let error as OSError {
            throw BatonError(.setupFailed, failure(kind, address, error), cause: error)
        }
    }

    /// One line an operator can act on: the address, the reason in words, and the flag that
    /// moves the listener (`cannot listen on 127.0.0.1:8080: address already in use (another
    /// daemon? use --listen ADDR:PORT)`).
    static func failure(_ kind: Kind, _ address: ListenAddress, _ error: OSError) -> String {
        let what = kind == .metrics ? "serve metrics on" : "listen on"
        let flag = [Kind.proxy: "--listen", .tls: "--listen-tls", .metrics: "--metrics", .control: "--socket"][kind]!
        let value = kind == .control ? "PATH" : "ADDR:PORT"
        let reason: String
        switch error.errno {
        case EADDRINUSE: reason = "address already in use (another daemon? use \(flag) \(value))"
        case EADDRNOTAVAIL: reason = "no such address on this host (use \(flag) \(value))"
        case EACCES: reason = "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE; use \(flag) \(value))"
        default: reason = error.reason.prefix(1).lowercased() + error.reason.dropFirst() + " (use \(flag) \(value))"
        }
        return "cannot \(what) \(address): \(reason)"
    }

    /// A control socket path some other daemon answers on (`--socket` outside the root) is
    /// not taken from it; anything else there that is not a socket is not replaced.
    private static func refuseLiveDaemon(at path: String) throws {
        var info = stat()
        if lstat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFSOCK {
            throw BatonError(.conflict, "\(path) exists and is not a socket: remove it or choose --socket")
        }
        if (try? ControlClient(socketPath: path).call("GET", "/v1/health")) != nil {
            throw BatonError(.conflict, "a daemon is already running at \(path): stop it first or choose --root/--socket")
        }
    }
}
