import BatonCommandLine
import BatonControl
import BatonOS
import Foundation
import Glibc

/// `GET /v1/daemon` (a DaemonInfo), `POST /v1/daemon/upgrade` (a DaemonUpgradeRequest; answers
/// a DaemonUpgradeResult once the successor serves) and `POST /v1/daemon/stop` (answers a
/// DaemonInfo, then stops as on SIGTERM).
extension ControlRouter {
    static func isDaemonRoute(_ request: ControlRequest) -> Bool {
        ["/v1/daemon", "/v1/daemon/upgrade", "/v1/daemon/stop"].contains(request.path)
    }

    func routeDaemon(_ request: ControlRequest, _ parts: [String]) async throws -> ControlReply {
        guard let daemon else { throw BatonError(.notFound, "this control server serves no daemon") }
        switch (request.method, request.path) {
        case ("GET", "/v1/daemon"):
            return try Self.json(200, try await daemon.status())
        case ("POST", "/v1/daemon/stop"):
            // As SIGTERM: stop accepting, let in-flight requests finish, exit; sandboxes run on.
            guard request.peerIsRoot else {
                throw BatonError(.invalidArgument, "only root may stop the daemon")
            }
            var reply = try Self.json(200, DaemonInfo(pid: getpid(), version: BatonVersion.current, handingOff: daemon.handOffs.isRunning))
            reply.sent = { [daemon] in daemon.requestExit() }
            return reply
        case ("POST", "/v1/daemon/upgrade"):
            // Root starts the new executable: only root may name it, or ask for it at all.
            guard request.peerIsRoot else {
                throw BatonError(.invalidArgument, "only root may upgrade or restart the daemon")
            }
            let body = try ControlJSON.decoder().decode(DaemonUpgradeRequest.self, from: request.body)
            if let seconds = body.timeoutSeconds, !(1...3600).contains(seconds) {
                throw BatonError(.invalidArgument, "invalid timeout \(seconds): use 1 to 3600 seconds")
            }
            let timeout = body.timeoutSeconds.map { Duration.milliseconds(Int64($0 * 1000)) } ?? Daemon.defaultHandOffTimeout
            let result = try await daemon.handOff(binary: body.binary, timeout: timeout)
            var reply = try Self.json(200, result)
            // This process finishes what it has in flight and exits once the answer is out.
            reply.sent = { [daemon] in daemon.requestExit() }
            return reply
        default:
            throw BatonError(.notFound, "no route \(request.method) \(request.path)")
        }
    }
}
