import BatonCommandLine
import BatonControl
import BatonOS
import Foundation
import Glibc

/// `GET /v1/daemon` and `POST /v1/daemon/upgrade` (a DaemonUpgradeRequest; answers a
/// DaemonUpgradeResult once the successor serves).
extension ControlRouter {
    static func isDaemonRoute(_ request: ControlRequest) -> Bool {
        request.path == "/v1/daemon" || request.path == "/v1/daemon/upgrade"
    }

    func routeDaemon(_ request: ControlRequest, _ parts: [String]) async throws -> ControlReply {
        guard let daemon else { throw BatonError(.notFound, "this control server serves no daemon") }
        switch (request.method, request.path) {
        case ("GET", "/v1/daemon"):
            return try Self.json(200, DaemonInfo(pid: getpid(), version: BatonVersion.current, handingOff: daemon.handOffs.isRunning))
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
