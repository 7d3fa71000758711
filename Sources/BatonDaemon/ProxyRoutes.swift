import BatonControl
import BatonProxy
import Synchronization

/// The proxy's route table as the daemon derives it: the stored apps, each sandbox app routed
/// to the port inside its serving sandbox's network namespace while that sandbox runs, and
/// answered 503 otherwise; an app a stop-first deploy holds has its requests held. Each route
/// carries its app's proxy settings (`RouteOptions`). Rebuilt whole and installed in one step
/// after every change.
final class ProxyRoutes: Sendable {
    let database: StateDatabase
    let proxy: Proxy
    let runtime: SandboxRuntimeService
    /// Reloads one at a time, so the table installed last is the one read last: a reload that
    /// read before a sandbox exited cannot overwrite the one made after.
    private let reloading = Mutex(())
    /// Apps whose requests are held now (stop-first deploys), with their hold.
    private let holds = Mutex<[String: RouteHold]>([:])

    init(database: StateDatabase, proxy: Proxy, runtime: SandboxRuntimeService) {
        self.database = database
        self.proxy = proxy
        self.runtime = runtime
    }

    /// Builds the table from the database and the sandboxes running now, and installs it.
    func reload() throws {
        try reloading.withLock { _ in
            let apps = try database.listApps()
            var sandboxTargets: [String: [Target]] = [:]
            for app in apps where app.kind == .sandbox {
                // Every running replica of the serving group; one that exited is left out at once.
                let targets = try database.servingGroup(app: app.name).compactMap { row in
                    runtime.live(id: row.id).map { Target.sandbox($0.network, port: row.port) }
                }
                if !targets.isEmpty { sandboxTargets[app.name] = targets }
            }
            proxy.install(Self.table(for: apps, sandboxTargets: sandboxTargets, holds: holds.withLock { $0 }))
            // A removed app's (or preview's) series go with its route.
            proxy.metrics.keep(apps: Set(apps.map(\.name)))
        }
    }

    /// Upstream apps route to their address; sandbox apps to the target given for them, or
    /// nowhere (503) before a deploy lands and while their sandbox is gone; a held app's
    /// requests wait.
    static func table(for apps: [AppInfo], sandboxTargets: [String: [Target]], holds: [String: RouteHold] = [:]) -> RouteTable {
        var entries: [(String, Route)] = []
        for app in apps {
            let targets = app.kind == .sandbox ? sandboxTargets[app.name] ?? [] : app.upstream.flatMap(upstreamTarget).map { [$0] } ?? []
            let options = routeOptions(app)
            for host in app.hosts {
                entries.append((host, Route(app: app.name, target: targets.first, hold: holds[app.name], options: options,
                                            replicas: targets)))
            }
        }
        return RouteTable(entries)
    }

    /// The app's proxy settings (`--https-redirect`, `--hsts`, `--upstream-protocol`).
    static func routeOptions(_ app: AppInfo) -> RouteOptions {
        let upstreamProtocol: UpstreamProtocol
        switch app.upstreamProtocol {
        case .http1: upstreamProtocol = .http1
        case .h2c: upstreamProtocol = .h2c
        }
        return RouteOptions(httpsRedirect: app.httpsRedirect, hsts: app.hsts, upstreamProtocol: upstreamProtocol)
    }

    /// Holds `app`'s new requests until `release`.
    func hold(app: String, timeout: Duration) throws {
        holds.withLock { $0[app] = RouteHold(timeout: timeout) }
        do {
            try reload()
        } catch {
            holds.withLock { $0[app] = nil }
            throw error
        }
    }

    /// Ends `app`'s hold. The table is rebuilt even when the database cannot be read: a held
    /// request must not wait for nothing.
    func release(app: String) {
        holds.withLock { $0[app] = nil }
        do {
            try reload()
        } catch {
            // The last table, without the hold: the route's target stays what it was.
            let table = proxy.routeTable
            proxy.install(RouteTable(table.entries.map {
                ($0.host, Route(app: $0.route.app, target: $0.route.target, options: $0.route.options, replicas: $0.route.replicas))
            }))
        }
    }

    static func upstreamTarget(_ text: String) -> Target? {
        AppValidation.parseAddress(text).map { .address(host: $0.host, port: $0.port) }
    }
}
