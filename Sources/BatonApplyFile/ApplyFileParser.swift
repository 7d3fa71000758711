import BatonControl
import BatonOS
import Yams

/// Reads an apply file:
///
///     apps:
///       web:
///         artifact: web:1.4.2
///         hosts: [web.example.com]
///         port: 8080
///         health: { path: /healthz, status: 200, timeout: 30 }
///         drain: 30
///         drain-long: 300              # WebSockets and event streams outlive a swap this long
///         memory: 268435456
///         pids: 256
///         cpus: 0.5
///         env: { LOG_LEVEL: info }
///         secrets: { API_TOKEN: s3cr3t, DB_PASSWORD: { file: ./db.pass } }
///         volumes: [data:/var/lib/web, "shared:cache:/cache:ro"]
///         strategy: stop-first         # or blue-green (the default)
///         hold: 30                     # seconds a stop-first deploy may hold requests
///         https-redirect: true         # plain HTTP answered 308 to https
///         hsts: true                   # Strict-Transport-Security on HTTPS responses
///         bake: 30                     # keep the old sandbox 30 s after a flip, roll back on 5xx > 1% or p99 > 2x
///         replicas: 2                  # sandboxes serving it at once (1-16)
///       legacy:
///         upstream: 127.0.0.1:9000
///         hosts: [legacy.example.com]
///         protocol: h2c                # the proxy speaks HTTP/2 without TLS to it (or http1)
///
/// Every mistake is one `BatonError(.invalidArgument)` whose message starts `FILE:LINE:COLUMN:`.
public enum ApplyFileParser {
    static let sandboxKeys: Set<String> = Set(["artifact", "hosts", "port", "health", "drain", "memory", "pids", "cpus", "env", "secrets",
                                               "volumes", "strategy", "hold", "drain-long"]).union(proxyKeys).union(smokeKeys).union(bakeKeys)
        .union(replicaKeys)
    static let upstreamKeys: Set<String> = Set(["upstream", "hosts", "health", "drain"]).union(proxyKeys)
    static let healthKeys: Set<String> = ["path", "status", "timeout"]

    /// Parses the text of an apps file; `file` names it in errors. Bounded in time and memory
    /// by the file's expanded size (`DocumentLimits`), whatever its aliases.
    public static func parse(_ text: String, file: String) throws(BatonError) -> ApplyFile {
        try DocumentLimits.check(text, file: file)
        let reader = NodeReader(file: file)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw reader.yamlError(error)
        } catch {
            throw BatonError(.invalidArgument, "\(file): invalid YAML: \(error)")
        }
        guard let root else { throw BatonError(.invalidArgument, "\(file): empty file: declare apps under a top-level 'apps:' map") }
        let top = try reader.mapping(root, "the file")
        try reader.refuseUnknownKeys(top, allowed: ["apps"], in: "the file")
        guard let appsNode = top["apps"] else {
            throw reader.fail(root, "missing top-level 'apps:' map")
        }
        let apps = try reader.mapping(appsNode, "'apps'")
        var declared: [DeclaredApp] = []
        var hostOwners: [String: String] = [:]
        for (key, value) in apps {
            let app = try parseApp(name: try reader.string(key, "an app name"), key: key, value: value, reader: reader)
            for host in app.spec.hosts {
                if let owner = hostOwners[host] {
                    throw reader.fail(key, "app \(app.name): host \(host) is already declared for app \(owner)")
                }
                hostOwners[host] = app.name
            }
            declared.append(app)
        }
        return ApplyFile(path: file, apps: declared)
    }

    private static func parseApp(name: String, key: Node, value: Node, reader: NodeReader) throws(BatonError) -> DeclaredApp {
        let fields = try reader.mapping(value, "app \(name)")
        let artifactNode = fields["artifact"]
        let upstreamNode = fields["upstream"]
        switch (artifactNode, upstreamNode) {
        case (nil, nil):
            throw reader.fail(key, "app \(name) needs 'artifact: REF' (a sandbox app) or 'upstream: ADDR:PORT'")
        case (.some, .some(let upstream)):
            throw reader.fail(upstream, "app \(name): 'artifact' and 'upstream' exclude each other: keep one")
        default:
            break
        }
        try reader.refuseUnknownKeys(fields, allowed: upstreamNode == nil ? sandboxKeys : upstreamKeys,
                                     in: "app \(name)" + (upstreamNode == nil ? "" : " (an upstream app)"))
        var spec = AppSpec(name: name, hosts: [])
        if let hosts = fields["hosts"] {
            spec.hosts = try reader.strings(hosts, "'hosts'")
        }
        spec.upstream = try upstreamNode.map { (node: Node) throws(BatonError) in try reader.string(node, "'upstream'") }
        spec.port = try fields["port"].map { (node: Node) throws(BatonError) in try reader.integer(node, "'port'") }
        spec.drainTimeout = try fields["drain"].map { (node: Node) throws(BatonError) in try reader.seconds(node, "'drain'") }
        // longlived: how long WebSocket and event-stream connections outlive a swap.
        spec.drainLongTimeout = try fields["drain-long"].map { (node: Node) throws(BatonError) in try reader.seconds(node, "'drain-long'") }
        spec.memory = try fields["memory"].map { (node: Node) throws(BatonError) in Int64(try reader.integer(node, "'memory'")) }
        spec.pids = try fields["pids"].map { (node: Node) throws(BatonError) in try reader.integer(node, "'pids'") }
        spec.cpus = try fields["cpus"].map { (node: Node) throws(BatonError) in try reader.number(node, "'cpus'") }
        if let health = fields["health"] {
            let check = try reader.mapping(health, "'health'")
            try reader.refuseUnknownKeys(check, allowed: healthKeys, in: "'health'")
            spec.healthPath = try check["path"].map { (node: Node) throws(BatonError) in try reader.string(node, "'health.path'") }
            spec.healthStatus = try check["status"].map { (node: Node) throws(BatonError) in try reader.integer(node, "'health.status'") }
            spec.healthTimeout = try check["timeout"].map { (node: Node) throws(BatonError) in try reader.seconds(node, "'health.timeout'") }
        }
        if let env = fields["env"] {
            var entries: [String] = []
            for (variable, setting) in try reader.mapping(env, "'env'") {
                entries.append(try reader.string(variable, "an env name") + "=" + (try reader.string(setting, "an env value")))
            }
            spec.env = entries.sorted()
        }
        try parseVolumesAndStrategy(fields, into: &spec, reader: reader)
        try parseProxySettings(fields, into: &spec, reader: reader)
        try parseSmokeChecks(fields, into: &spec, reader: reader)
        try parseBakeSettings(fields, into: &spec, reader: reader)
        try parseReplicas(fields, into: &spec, reader: reader)
        var secretFiles: [String] = []
        if let secrets = fields["secrets"] {
            (spec.secrets, secretFiles) = try parseSecrets(secrets, reader: reader)
        }
        let artifact = try artifactNode.map { (node: Node) throws(BatonError) in try reader.string(node, "'artifact'") }
        do {
            spec = try spec.validated()
        } catch {
            throw reader.fail(key, "app \(name): \(error.message)")
        }
        for entry in secretFiles {
            if let problem = AppConfig.nameProblem(AppConfig.key(entry)) {
                throw reader.fail(key, "app \(name): invalid secret name '\(AppConfig.key(entry))': \(problem)")
            }
        }
        return DeclaredApp(spec: spec, artifact: artifact, location: reader.location(key),
                           artifactLocation: artifactNode.map(reader.location), secretFiles: secretFiles)
    }

    /// `NAME: value` (KEY=VALUE) or `NAME: { file: PATH }` (KEY=PATH, read by the CLI).
    private static func parseSecrets(_ node: Node, reader: NodeReader) throws(BatonError) -> (values: [String], files: [String]) {
        var values: [String] = [], files: [String] = []
        for (variable, setting) in try reader.mapping(node, "'secrets'") {
            let name = try reader.string(variable, "a secret name")
            guard case .mapping(let reference) = setting else {
                values.append(name + "=" + (try reader.string(setting, "a secret value")))
                continue
            }
            try reader.refuseUnknownKeys(reference, allowed: ["file"], in: "secret \(name)")
            guard let path = reference["file"] else { throw reader.fail(setting, "secret \(name): use a value or { file: PATH }") }
            files.append(name + "=" + (try reader.string(path, "secret \(name)'s file")))
        }
        return (values.sorted(), files.sorted())
    }
}
