import BatonControl
import BatonOS
import Foundation
import GRDB

/// Apps in the state database.
extension StateDatabase {
    /// Stores a validated app in one transaction; refuses a taken name or host. `preview` marks
    /// it as made by `baton preview create` in the same write, so a crash never leaves half a
    /// preview.
    func createApp(_ spec: AppSpec, preview: Bool = false) throws -> AppInfo {
        let kind = spec.kind
        let createdAt = Timestamp.string(Date(), fractionalSeconds: false)
        let envJSON = String(decoding: try JSONEncoder().encode(spec.env), as: UTF8.self)
        return try write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM apps WHERE name = ?", arguments: [spec.name]) == true {
                throw BatonError(.conflict, "app \(spec.name) already exists: remove it first with 'baton app rm \(spec.name)'")
            }
            try Self.refuseTakenHosts(db, spec)
            try db.execute(
                sql: """
                    INSERT INTO apps (name, kind, upstream, port, health_path, health_status, health_timeout,
                                      drain_timeout, memory, pids, env, created_at, preview)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    spec.name, kind.rawValue, spec.upstream, spec.port, spec.healthPath,
                    spec.healthStatus ?? AppSpec.defaultHealthStatus, spec.healthTimeout ?? AppSpec.defaultHealthTimeout,
                    spec.drainTimeout ?? AppSpec.defaultDrainTimeout, spec.memory, spec.pids, envJSON, createdAt, preview,
                ])
            try Self.writeVolumesAndStrategy(db, spec)
            try Self.writeProxySettings(db, spec)
            try Self.writeLongLivedSettings(db, spec)
            try Self.writeSmokeChecks(db, spec)
            try Self.writeBakeSettings(db, spec)
            try Self.writeReplicas(db, spec)
            try Self.insertHosts(db, spec)
            try Self.storeNetwork(db, spec)
            // Its configuration, secrets included, is version 1.
            try ConfigVersions.makeCurrent(db, app: spec.name, version: try ConfigVersions.insert(db, app: spec.name, config: AppConfig(spec)))
            return try Self.fetchApp(db, name: spec.name)!
        }
    }

    /// Refuses a host of `spec` that another app uses.
    private static func refuseTakenHosts(_ db: Database, _ spec: AppSpec) throws {
        for host in spec.hosts {
            if let owner = try String.fetchOne(db, sql: "SELECT app FROM app_hosts WHERE host = ? AND app != ?", arguments: [host, spec.name]) {
                throw BatonError(.conflict, "host \(host) is already used by app \(owner)")
            }
        }
    }

    private static func insertHosts(_ db: Database, _ spec: AppSpec) throws {
        for host in spec.hosts {
            try db.execute(sql: "INSERT INTO app_hosts (host, app) VALUES (?, ?)", arguments: [host, spec.name])
        }
    }

    /// Replaces a validated app's hosts, upstream, volumes, strategy and proxy settings in one transaction; refuses a change of
    /// kind (upstream or sandbox) and a host another app uses. Its configuration changes only by
    /// a new version (`DeployService.configure`); the serving sandbox stays.
    func updateApp(_ spec: AppSpec) throws -> AppInfo {
        let kind = spec.kind
        return try write { db in
            guard let current = try Self.fetchApp(db, name: spec.name) else { throw ControlService.noSuchApp(spec.name) }
            guard current.kind == kind else {
                throw BatonError(.conflict,
                    "app \(spec.name) is of kind '\(current.kind.rawValue)' and cannot become '\(kind.rawValue)': remove it first with 'baton app rm \(spec.name)'")
            }
            try Self.refuseTakenHosts(db, spec)
            try db.execute(sql: "UPDATE apps SET upstream = ? WHERE name = ?", arguments: [spec.upstream, spec.name])
            try Self.writeVolumesAndStrategy(db, spec)
            try Self.writeProxySettings(db, spec)
            try Self.writeLongLivedSettings(db, spec)
            try Self.writeSmokeChecks(db, spec)
            try Self.writeBakeSettings(db, spec)
            try Self.writeReplicas(db, spec)
            try db.execute(sql: "DELETE FROM app_hosts WHERE app = ?", arguments: [spec.name])
            try Self.insertHosts(db, spec)
            try Self.storeNetwork(db, spec)
            return try Self.fetchApp(db, name: spec.name)!
        }
    }

    func listApps() throws -> [AppInfo] {
        try read { db in
            try String.fetchAll(db, sql: "SELECT name FROM apps ORDER BY name").compactMap { try Self.fetchApp(db, name: $0) }
        }
    }

    func app(named name: String) throws -> AppInfo? {
        try read { db in try Self.fetchApp(db, name: name) }
    }

    /// Removes an app and its hosts; false if there was none.
    func removeApp(named name: String) throws -> Bool {
        try write { db in
            try db.execute(sql: "DELETE FROM apps WHERE name = ?", arguments: [name])
            return db.changesCount > 0
        }
    }

    private static func fetchApp(_ db: Database, name: String) throws -> AppInfo? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM apps WHERE name = ?", arguments: [name]) else { return nil }
        let hosts = try String.fetchAll(db, sql: "SELECT host FROM app_hosts WHERE app = ? ORDER BY host", arguments: [name])
        let envText: String = row["env"]
        let env = (try? JSONDecoder().decode([String].self, from: Data(envText.utf8))) ?? []
        let network = try fetchNetwork(db, app: name)
        var app = AppInfo(
            name: row["name"], hosts: hosts, kind: AppInfo.Kind(rawValue: row["kind"]) ?? .sandbox,
            digest: try String.fetchOne(db, sql: "SELECT digest FROM sandboxes WHERE id = ?", arguments: [row["serving_sandbox"] as String?]),
            upstream: row["upstream"], port: row["port"], healthPath: row["health_path"],
            healthStatus: row["health_status"], healthTimeout: row["health_timeout"],
            drainTimeout: row["drain_timeout"], memory: row["memory"], pids: row["pids"], env: env,
            createdAt: row["created_at"], inFlight: 0, preview: (row["preview"] as Int?) == 1)
        app.network = network?.mode
        app.egressAllow = network?.egressAllow ?? []
        app.cpus = row["cpus"]
        app.configVersion = row["config_version"]
        app.servingSandbox = row["serving_sandbox"]
        app.secrets = try ConfigVersions.maskedSecrets(db, app: name, version: app.configVersion)
        readVolumesAndStrategy(row, into: &app)
        readProxySettings(row, into: &app)
        readLongLivedSettings(row, into: &app)
        readSmokeChecks(row, into: &app)
        readBakeSettings(row, into: &app)
        readReplicas(row, into: &app)
        return app
    }

    /// Runs a write transaction, passing BatonErrors through and wrapping database errors.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.write(body)
        } catch let error as BatonError {
            throw error
        } catch {
            throw BatonError(.internal, "state database write failed: \(error)", cause: StateError(error))
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.read(body)
        } catch {
            throw BatonError(.internal, "state database read failed: \(error)", cause: StateError(error))
        }
    }
}
