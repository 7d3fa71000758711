import BatonControl
@testable import BatonDaemon
import BatonOS
import Foundation
import GRDB
import Testing

/// What `app set` may change and how: one clear refusal per mistake, never a secret's value
/// in a message, limits removed with 0.
@Suite struct AppConfigChangeTests {
    let current = AppConfig(memory: 64 << 20, pids: 100, cpus: 1, env: ["B=2", "A=1"], secrets: ["TOKEN=hunter2"])

    @Test func setsReplacesAndUnsetsVariablesAndSecrets() throws {
        var change = AppConfigChange()
        change.env = ["C=3", "A=one"]
        change.secrets = ["KEY=-----BEGIN KEY-----\nline\n-----END KEY-----\n"]
        change.unset = ["TOKEN"]
        let next = try current.applying(change)
        #expect(next.env == ["A=one", "B=2", "C=3"])
        #expect(next.secrets == ["KEY=-----BEGIN KEY-----\nline\n-----END KEY-----\n"], "newlines are allowed in a value")
        #expect(next.masked.secrets == ["KEY=<secret>"])
        #expect(next.changes(from: current, comparingSecretValues: false) == ["env", "secrets"])
    }

    @Test func zeroRemovesALimit() throws {
        var change = AppConfigChange()
        change.memory = 0
        change.pids = 0
        change.cpus = 0
        let next = try current.applying(change)
        #expect(next.memory == nil && next.pids == nil && next.cpus == nil)
        #expect(next.changes(from: current, comparingSecretValues: true) == ["memory", "pids", "cpus"])
    }

    @Test func aSecretsValueIsComparedOnlyWhenAsked() throws {
        var change = AppConfigChange()
        change.secrets = ["TOKEN=other"]
        let next = try current.applying(change)
        #expect(next.changes(from: current, comparingSecretValues: true) == ["secrets"])
        #expect(next.changes(from: current, comparingSecretValues: false).isEmpty, "names alone are the same")
    }

    @Test(arguments: [
        (AppConfigChange.with(unset: ["NOPE"]), "cannot unset NOPE: the app has no variable or secret NOPE"),
        (AppConfigChange.with(env: ["A=1"], unset: ["A"]), "A is given twice: set or unset each name once"),
        (AppConfigChange.with(env: ["TOKEN=plain"]), "TOKEN is a secret of the app: --unset TOKEN first to make it a plain variable"),
        (AppConfigChange.with(secrets: ["A=hunter2"]), "A is an environment variable of the app: --unset A first to make it a secret"),
        (AppConfigChange.with(env: ["1A=x"]), "invalid --env name '1A': use 1-255 letters, digits and '_', not starting with a digit"),
        (AppConfigChange.with(env: ["PORT=9000"]), "invalid --env name 'PORT': Baton sets it to the app's port: change the port with --port"),
        (AppConfigChange.with(secrets: ["BATON_APP=hunter2"]), "invalid --secret name 'BATON_APP': names starting BATON_ are Baton's own"),
        (AppConfigChange.with(secrets: ["hunter2"]), "invalid --secret: use KEY=VALUE (the value is not shown)"),
        (AppConfigChange.with(secrets: ["NUL=hunter2\0x"]), "--secret NUL contains a NUL byte, which no program can receive"),
        (AppConfigChange.with(secrets: ["BIG=hunter2" + String(repeating: "x", count: 64 << 10)]), "--secret BIG is 65543 bytes: keep a value under 65536"),
    ])
    func aBadChangeIsRefusedWithoutRepeatingASecret(change: AppConfigChange, message: String) {
        do {
            _ = try current.applying(change)
            Issue.record("accepted: \(change)")
        } catch {
            #expect(error.message == message)
            #expect(!error.message.contains("hunter2"))
        }
    }

    @Test func theEnvironmentAndSecretsTogetherAreBounded() {
        let entries = (0..<5).map { "S\($0)=" + String(repeating: "x", count: 60 << 10) }
        #expect(throws: BatonError.self) { try AppConfig(env: entries).validated() }
    }

    /// A database from before versions: its apps, sandboxes and deployments are version 1.
    @Test func aDatabaseFromBeforeVersionsMigratesToVersionOne() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("baton-v4-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let old = try DatabaseQueue(path: root + "/state.db")
        try StateDatabase.migrator.migrate(old, upTo: "v3: previews")
        try old.write { db in
            try db.execute(sql: """
                INSERT INTO apps (name, kind, port, health_status, health_timeout, drain_timeout, memory, env, created_at, serving_sandbox)
                VALUES ('web', 'sandbox', 8000, 200, 30, 30, 67108864, '["A=1"]', '2026-01-01T00:00:00Z', 'web-1');
                INSERT INTO sandboxes (id, app, digest, port, state, created_at) VALUES ('web-1', 'web', 'sha256:1', 8000, 'running', 'x');
                INSERT INTO deployments (app, from_digest, to_digest, outcome, started_at) VALUES ('web', NULL, 'sha256:0', 'succeeded', 'x');
                INSERT INTO deployments (app, from_digest, to_digest, outcome, started_at) VALUES ('web', 'sha256:0', 'sha256:1', 'succeeded', 'x');
                """)
        }
        try old.close()
        let database = try StateDatabase(path: root + "/state.db")
        let (version, config) = try database.config(app: "web", version: nil)
        #expect(version == 1)
        #expect(config == AppConfig(port: 8000, memory: 64 << 20, env: ["A=1"]))
        #expect(try database.app(named: "web")?.configVersion == 1)
        #expect(try database.sandbox(id: "web-1")?.configVersion == 1)
        #expect(try database.deployments(app: "web").map { [$0.fromConfigVersion, $0.configVersion] } == [[1, 1], [nil, 1]])
    }
}

extension AppConfigChange {
    static func with(env: [String] = [], secrets: [String] = [], unset: [String] = []) -> AppConfigChange {
        var change = AppConfigChange()
        change.env = env
        change.secrets = secrets
        change.unset = unset
        return change
    }
}
