import BatonOS
import FoundationEssentials

/// `GET /v1/daemon`: which process serves the root now.
public struct DaemonInfo: Codable, Sendable {
    public var pid: Int32
    public var version: String
    /// A hand-off to a successor is running now.
    public var handingOff: Bool

    public init(pid: Int32, version: String, handingOff: Bool) {
        self.pid = pid
        self.version = version
        self.handingOff = handingOff
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

    /// Waits for the successor: the time it is given, and then some, plus any deploy finishing first.
    public func upgradeDaemon(_ request: DaemonUpgradeRequest) throws -> DaemonUpgradeResult {
        try decode(DaemonUpgradeResult.self, try call("POST", "/v1/daemon/upgrade", body: try ControlJSON.encoder().encode(request),
                                                      replySeconds: Self.swapReplySeconds))
    }
}
