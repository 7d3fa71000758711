import BatonOS
import FoundationEssentials

/// `GET /v1/daemon`: which process serves the root now, since when, and where it listens.
/// The fields after `handingOff` are optional so a CLI can still read an older daemon's answer.
public struct DaemonInfo: Codable, Sendable {
    public var pid: Int32
    public var version: String
    /// A hand-off to a successor is running now.
    public var handingOff: Bool
    /// When this process started serving (Timestamp), and the seconds since.
    public var startedAt: String?
    public var uptimeSeconds: Double?
    public var root: String?
    /// Bound addresses, `ADDR:PORT` (`[ADDR]:PORT` for IPv6); nil: not listening there.
    public var listen: String?
    public var listenTLS: String?
    public var metrics: String?
    public var socket: String?
    /// Previews answer at NAME.<previewDomain>.
    public var previewDomain: String?
    /// Apps (previews included) and running sandboxes.
    public var apps: Int?
    public var sandboxes: Int?

    public init(pid: Int32, version: String, handingOff: Bool) {
        self.pid = pid
        self.version = version
        self.handingOff = handingOff
    }

    /// `http://HOST:PORT/` (and `https://…` when the daemon serves HTTPS) for a host served
    /// here; the port is left out only where it is the scheme's default.
    public func urls(host: String) -> [String] {
        var urls: [String] = []
        if let listen { urls.append(Self.url(scheme: "http", host: host, listen: listen, defaultPort: 80)) }
        if let listenTLS { urls.append(Self.url(scheme: "https", host: host, listen: listenTLS, defaultPort: 443)) }
        return urls
    }

    private static func url(scheme: String, host: String, listen: String, defaultPort: Int) -> String {
        let port = listen.lastIndex(of: ":").flatMap { Int(listen[listen.index(after: $0)...]) }
        let suffix = port == nil || port == defaultPort ? "" : ":\(port!)"
        return "\(scheme)://\(host)\(suffix)/"
    }
}

/// `POST /v1/daemon/upgrade` (root only): hand the root over to a new daemon process.
public struct DaemonUpgradeRequest: Codable, Sendable {
    /// The baton-daemon executable to start (absolute); nil: the running daemon's own path, read
    /// from disk again.
    public var binary: String?
    /// How long the successor has to get ready, and then to take over.
    public var timeoutSeconds: Double?

    public init(binary: String?, timeoutSeconds: Double?) {
        self.binary = binary
        self.timeoutSeconds = timeoutSeconds
    }
}

public struct DaemonUpgradeResult: Codable, Sendable {
    public var fromPid: Int32
    public var fromVersion: String
    public var toPid: Int32
    public var toVersion: String
    /// From the request to the successor accepting.
    public var milliseconds: Int

    public init(fromPid: Int32, fromVersion: String, toPid: Int32, toVersion: String, milliseconds: Int) {
        self.fromPid = fromPid
        self.fromVersion = fromVersion
        self.toPid = toPid
        self.toVersion = toVersion
        self.milliseconds = milliseconds
    }
}

extension ControlClient {
    public func daemonInfo() throws -> DaemonInfo {
        try decode(DaemonInfo.self, try call("GET", "/v1/daemon"))
    }

    /// Asks the daemon to stop as on SIGTERM; answers before it has (its pid, to wait for).
    public func stopDaemon() throws -> DaemonInfo {
        try decode(DaemonInfo.self, try call("POST", "/v1/daemon/stop"))
    }

    /// Waits for the successor: the time it is given, and then some, plus any deploy finishing first.
    public func upgradeDaemon(_ request: DaemonUpgradeRequest) throws -> DaemonUpgradeResult {
        try decode(DaemonUpgradeResult.self, try call("POST", "/v1/daemon/upgrade", body: try ControlJSON.encoder().encode(request),
                                                      replySeconds: Self.swapReplySeconds))
    }
}
