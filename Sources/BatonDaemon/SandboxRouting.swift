import BatonDeploy
import BatonOS
import BatonProxy
import Foundation

/// BatonDeploy's route installer and drainer over the daemon's state and proxy: an app's
/// serving sandbox is persisted first, then the whole route table is rebuilt and installed
/// in one step.
struct SandboxRouting: RouteInstaller, TrafficDrainer {
    let database: StateDatabase
    let runtime: SandboxRuntimeService
    let service: ControlService

    func serving(app: String) async throws -> SandboxHandle? {
        guard let row = try database.servingSandbox(app: app), row.state == "running", let pid = row.pid else { return nil }
        return SandboxHandle(id: row.id, app: app, digest: row.digest, pid: pid, netnsPath: NamespaceSocket.networkNamespace(of: pid))
    }

    func install(app: String, sandbox: SandboxHandle) async throws {
        try database.setServing(app: app, sandbox: sandbox.id)
        try await service.reloadRoutes()
    }

    func drain(_ sandbox: SandboxHandle, timeout: Duration) async -> Bool {
        guard let row = try? database.sandbox(id: sandbox.id) else { return true }
        return await service.proxy.drain(target: .sandbox(netnsPath: sandbox.netnsPath, port: row.port),
                                         deadline: .now + timeout)
    }
}
