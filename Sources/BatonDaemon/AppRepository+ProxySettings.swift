import BatonControl
import GRDB

/// An app's proxy settings in the state database: columns of `apps` (migration v7), changed
/// in place like the strategy (they are the app's, not a configuration version) and read by
/// `ProxyRoutes` into each route's options.
extension StateDatabase {
    static func migrateProxySettings(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE apps ADD COLUMN https_redirect INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE apps ADD COLUMN hsts INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE apps ADD COLUMN upstream_protocol TEXT NOT NULL DEFAULT 'http1'
                CHECK (upstream_protocol IN ('http1', 'h2c'));
            """)
    }

    /// Writes the proxy settings of a validated spec, in the transaction that creates or
    /// updates the app.
    static func writeProxySettings(_ db: Database, _ spec: AppSpec) throws {
        let settings = spec.storedProxySettings
        try db.execute(
            sql: "UPDATE apps SET https_redirect = ?, hsts = ?, upstream_protocol = ? WHERE name = ?",
            arguments: [settings.httpsRedirect, settings.hsts, settings.upstreamProtocol.rawValue, spec.name])
    }

    static func readProxySettings(_ row: Row, into app: inout AppInfo) {
        app.httpsRedirect = (row["https_redirect"] as Int?) == 1
        app.hsts = (row["hsts"] as Int?) == 1
        app.upstreamProtocol = (row["upstream_protocol"] as String?).flatMap(AppUpstreamProtocol.init(rawValue:)) ?? .http1
    }
}
