import BatonControl
import BatonProxy
import Synchronization

/// The proxy's route table as the daemon derives it: the stored apps, each sandbox app routed
/// to the port inside its serving sandbox's network namespace while that sandbox runs, and
/// answered 503 otherwise. Rebuilt whole and installed in one step after every change.
final class ProxyRoutes: Sendable {
    let database: StateDatabase
    let proxy: Proxy
    let runtime: SandboxRuntimeService
    /// Reloads one at a time, so the table installed last is the one read last: a reload that
    /// read before a sandbox exited cannot overwrite the one made after.
    private let reloading = Mutex(())

    init(database: StateDatabase, proxy: Proxy, runtime: SandboxRuntimeService) {
        self.database = database
        self.proxy = proxy
        self.runtime = runtime
    }

    /// Builds the table from the database and the sandboxes running now, and installs it.
    func reload() throws {
        try reloading.withLock { _ in
            let apps = try database.listApps()
            var sandboxTargets: [String: Target] = [:]
            for app in apps where app.kind == .sandbox {
                guard let row = try database.servingSandbox(app: app.name), row.state == "running",
                    let live = runtime.live(id: row.id)
                else { continue }
                sandboxTargets[app.name] = .sandbox(live.network, port: row.port)
            }
            proxy.install(Self.table(for: apps, sandboxTargets: sandboxTargets))
        }
    }

    /// Upstream apps route to their address; sandbox apps to the target given for them, or
    /// nowhere (503) before a deploy lands and while their sandbox is gone.
    static func table(for apps: [AppInfo], sandboxTargets: [String: Target]) -> RouteTable {
        var entries: [(String, Route)] = []
        for app in apps {
            let target = app.kind == .sandbox ? sandboxTargets[app.name] : app.upstream.flatMap(upstreamTarget)
            for host in app.hosts { entries.append((host, Route(app: app.name, target: target))) }
        }
        return RouteTable(entries)
    }

    static func upstreamTarget(_ text: String) -> Target? {
        AppValidation.parseAddress(text).map { .address(host: $0.host, port: $0.port) }
    }
}
