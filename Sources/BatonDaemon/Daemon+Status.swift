import BatonCommandLine
import BatonControl
import Foundation
import Glibc
import NIOCore

/// `baton daemon status`: what this process serves, and where.
extension Daemon {
    func status() async throws -> DaemonInfo {
        var info = DaemonInfo(pid: getpid(), version: BatonVersion.current, handingOff: handOffs.isRunning)
        info.startedAt = Timestamp.string(startedAt)
        info.uptimeSeconds = max(0, Date().timeIntervalSince(startedAt))
        info.root = options.root
        info.listen = proxyAddress.withLock { $0 }.flatMap(Self.text)
        info.listenTLS = tlsAddress.flatMap(Self.text)
        info.metrics = metricsAddress.flatMap(Self.text)
        info.socket = options.resolvedSocketPath
        info.previewDomain = options.previewDomain
        info.apps = try await service.listApps().count
        info.sandboxes = try await deploys.sandboxes(all: false).count
        return info
    }

    /// `ADDR:PORT`, `[ADDR]:PORT` for IPv6: never NIO's own description of an address.
    static func text(_ address: SocketAddress) -> String? {
        guard let ip = address.ipAddress, let port = address.port else { return nil }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}
