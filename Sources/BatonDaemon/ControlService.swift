import BatonControl
import BatonOS
import BatonProxy
import Foundation

/// The daemon's logic behind the control API: every change is persisted first, then the
/// proxy's route table is rebuilt from the database and installed in one step.
actor ControlService {
    let database: StateDatabase
    let proxy: Proxy
    let routes: ProxyRoutes

    init(database: StateDatabase, routes: ProxyRoutes) {
        self.database = database
        self.proxy = routes.proxy
        self.routes = routes
    }

    func createApp(_ spec: AppSpec, preview: Bool = false) throws -> AppInfo {
        let spec = try AppValidation.validate(spec)
        let app = try database.createApp(spec, preview: preview)
        try reloadRoutes()
        return app
    }

    /// Replaces the settings of app `name`; a running sandbox keeps its own until the next deploy.
    func updateApp(named name: String, _ spec: AppSpec) throws -> AppInfo {
        var spec = spec
        spec.name = name
        let app = try database.updateApp(try AppValidation.validate(spec))
        try reloadRoutes()
        return withInFlight(app)
    }

    func listApps() throws -> [AppInfo] {
        try database.listApps().map(withInFlight)
    }

    func app(named name: String) throws -> AppInfo {
        guard let app = try database.app(named: name) else { throw Self.noSuchApp(name) }
        return withInFlight(app)
    }

    func removeApp(named name: String) throws {
        guard try database.removeApp(named: name) else { throw Self.noSuchApp(name) }
        try reloadRoutes()
    }

    /// Builds the route table from the stored apps and installs it.
    func reloadRoutes() throws {
        try routes.reload()
    }

    private func withInFlight(_ app: AppInfo) -> AppInfo {
        var app = app
        if let target = app.upstream.flatMap(ProxyRoutes.upstreamTarget) {
            app.inFlight = proxy.inFlight(target: target)
        }
        return app
    }

    static func noSuchApp(_ name: String) -> BatonError {
        BatonError(.notFound, "no app named \(name): see 'baton app ls'")
    }
}
