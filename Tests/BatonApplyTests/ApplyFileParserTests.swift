import BatonApply
import BatonApplyFile
import BatonControl
import BatonDaemon
import BatonOS
import Testing

/// The apply file: what is accepted, and that every mistake names its line and column.
@Suite struct ApplyFileParserTests {
    static let example = """
        apps:
          web:
            artifact: web:1.4.2            # any REF
            hosts: [web.example.com, "*.web.example.com"]
            port: 8080
            health: { path: /healthz, status: 200, timeout: 30 }
            drain: 30
            memory: 268435456
            pids: 256
            env: { LOG_LEVEL: info, A: 1 }
          legacy:
            upstream: 127.0.0.1:9000
            hosts: [legacy.example.com]
        """

    @Test func readsTheIssueExample() throws {
        let file = try ApplyFileParser.parse(Self.example, file: "baton.yml")
        #expect(file.apps.map(\.name) == ["web", "legacy"])
        let web = file.apps[0]
        #expect(web.artifact == "web:1.4.2")
        #expect(web.artifactLocation == SourceLocation(file: "baton.yml", line: 3, column: 15))
        #expect(web.spec == AppSpec(
            name: "web", hosts: ["web.example.com", "*.web.example.com"], port: 8080, healthPath: "/healthz",
            healthStatus: 200, healthTimeout: 30, drainTimeout: 30, memory: 268_435_456, pids: 256,
            env: ["A=1", "LOG_LEVEL=info"]))
        let legacy = file.apps[1]
        #expect(legacy.artifact == nil)
        #expect(legacy.spec == AppSpec(name: "legacy", hosts: ["legacy.example.com"], upstream: "127.0.0.1:9000"))
    }

    @Test func readsVolumesAndAStopFirstStrategy() throws {
        let text = """
            apps:
              web:
                artifact: web:1
                hosts: [web.test]
                volumes: [data:/var/lib/web, "shared:cache:/cache:ro"]
                strategy: stop-first
                hold: 12
            """
        let spec = try ApplyFileParser.parse(text, file: "baton.yml").apps[0].spec
        #expect(spec.volumes == [AppVolume(name: "data", path: "/var/lib/web"),
                                 AppVolume(name: "cache", path: "/cache", readOnly: true, shared: true)])
        #expect(spec.strategy == .stopFirst)
        #expect(spec.holdTimeout == 12)
    }

    @Test func badVolumesAndStrategiesNameTheirPlace() {
        let app = "apps:\n  web:\n    artifact: web:1\n    hosts: [web.test]\n"
        #expect(failure(app + "    volumes: [data]\n") == "baton.yml:5:14: invalid volume 'data': use NAME:/path, NAME:/path:ro or shared:NAME:/path")
        #expect(failure(app + "    volumes: [../x:/data]\n").hasPrefix("baton.yml:2:3: app web: invalid volume name '../x'"))
        #expect(failure(app + "    volumes: [data:/proc/x]\n") == "baton.yml:2:3: app web: volume path '/proc/x' overlaps /proc, which the sandbox mounts itself")
        #expect(failure(app + "    strategy: rolling\n") == "baton.yml:5:15: 'strategy' must be blue-green or stop-first, not 'rolling'")
        #expect(failure("apps:\n  old:\n    upstream: 127.0.0.1:9\n    hosts: [o.test]\n    volumes: [d:/d]\n")
            .hasPrefix("baton.yml:5:5: unknown key 'volumes' in app old (an upstream app)"))
    }

    @Test func secretsAreValuesOrFilesTheCLIReads() throws {
        let text = """
            apps:
              web:
                artifact: web:1
                hosts: [web.test]
                cpus: 0.5
                secrets: { TOKEN: s3cr3t, DB_PASSWORD: { file: ./db.pass } }
            """
        let web = try ApplyFileParser.parse(text, file: "baton.yml").apps[0]
        #expect(web.spec.secrets == ["TOKEN=s3cr3t"])
        #expect(web.spec.cpus == 0.5)
        #expect(web.secretFiles == ["DB_PASSWORD=./db.pass"])
    }

    @Test func aBadSecretIsRefusedWithoutShowingItsValue() {
        let reserved = failure("apps:\n  web:\n    artifact: a:1\n    hosts: [a.test]\n    secrets: { PORT: hunter2 }\n")
        #expect(reserved.hasPrefix("baton.yml:2:3: app web: invalid --secret name 'PORT'"), "\(reserved)")
        let both = failure("apps:\n  web:\n    artifact: a:1\n    hosts: [a.test]\n    env: { A: 1 }\n    secrets: { A: hunter2 }\n")
        #expect(both == "baton.yml:2:3: app web: A is both an environment variable and a secret: keep one")
        let reference = failure("apps:\n  web:\n    artifact: a:1\n    hosts: [a.test]\n    secrets: { A: { path: x } }\n")
        #expect(reference.hasPrefix("baton.yml:5:21: unknown key 'path' in secret A: use file"), "\(reference)")
        for message in [reserved, both, reference] { #expect(!message.contains("hunter2")) }
        #expect(failure("apps:\n  old:\n    upstream: 127.0.0.1:1\n    hosts: [a.test]\n    secrets: { A: b }\n")
            .hasPrefix("baton.yml:5:5: unknown key 'secrets' in app old (an upstream app)"))
    }

    @Test func aSyntaxErrorNamesLineAndColumn() {
        let text = "apps:\n  web:\n    hosts: [a.test\n    artifact: x:1\n"
        let message = failure(text)
        #expect(message.hasPrefix("baton.yml:"), "\(message)")
        #expect(message.contains("invalid YAML"), "\(message)")
        let place = message.split(separator: ":").dropFirst().prefix(2).compactMap { Int($0) }
        #expect(place.count == 2, "line and column in \(message)")
    }

    @Test func anUnclosedListNamesWhereItStarted() {
        let text = "apps:\n  web:\n    artifact: x:1\n    hosts: [web.test\n"
        #expect(failure(text) == "baton.yml:5:1: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence started at 4:12)")
    }

    @Test func anUnknownKeyIsRefusedWhereItIsWritten() {
        let text = "apps:\n  web:\n    artifact: site:1\n    hosts: [a.test]\n    instances: 3\n"
        #expect(failure(text) == "baton.yml:5:5: unknown key 'instances' in app web: use artifact, bake, bake-max-5xx, bake-max-p99, cpus, drain, drain-long, env, health, hold, hosts, hsts, https-redirect, memory, pids, port, protocol, replicas, secrets, smoke, strategy, volumes")
        let health = "apps:\n  web:\n    artifact: site:1\n    hosts: [a.test]\n    health: { path: /h, interval: 3 }\n"
        #expect(failure(health).hasPrefix("baton.yml:5:25: unknown key 'interval' in 'health'"), "\(failure(health))")
        #expect(failure("apps: {}\nversion: 2\n").hasPrefix("baton.yml:2:1: unknown key 'version' in the file"))
    }

    @Test func sandboxSettingsDoNotApplyToUpstreamApps() {
        let text = "apps:\n  old:\n    upstream: 127.0.0.1:9000\n    hosts: [a.test]\n    port: 80\n"
        #expect(failure(text).hasPrefix("baton.yml:5:5: unknown key 'port' in app old (an upstream app)"))
    }

    @Test func schemaErrorsNameThePlace() {
        #expect(failure("apps:\n  web:\n    hosts: [a.test]\n") == "baton.yml:2:3: app web needs 'artifact: REF' (a sandbox app) or 'upstream: ADDR:PORT'")
        #expect(failure("apps:\n  web:\n    artifact: a:1\n    hosts: [a.test]\n    port: eighty\n")
            == "baton.yml:5:11: 'port' must be a whole number, not 'eighty'")
        #expect(failure("apps:\n  web:\n    artifact: a:1\n    upstream: 127.0.0.1:1\n    hosts: [a.test]\n")
            .hasPrefix("baton.yml:4:15: app web: 'artifact' and 'upstream' exclude each other"))
        #expect(failure("apps:\n  Web_1:\n    artifact: a:1\n    hosts: [a.test]\n").hasPrefix("baton.yml:2:3: app Web_1: invalid app name"))
        #expect(failure("apps:\n  web:\n    artifact: a:1\n    hosts: []\n").hasPrefix("baton.yml:2:3: app web: app web needs at least one"))
        #expect(failure("apps:\n  web:\n    artifact: a:1\n    hosts: [a.test]\n    env: [A=1]\n")
            .hasPrefix("baton.yml:5:10: 'env' must be a map"))
        #expect(failure("apps: [web]\n").hasPrefix("baton.yml:1:7: 'apps' must be a map"))
        #expect(failure("") == "baton.yml: empty file: declare apps under a top-level 'apps:' map")
        #expect(failure("other: 1\n").hasPrefix("baton.yml:1:1: unknown key 'other'"))
    }

    @Test func aHostDeclaredTwiceIsRefused() {
        let text = "apps:\n  a:\n    artifact: x:1\n    hosts: [h.test]\n  b:\n    upstream: 127.0.0.1:1\n    hosts: [H.test]\n"
        #expect(failure(text) == "baton.yml:5:3: app b: host h.test is already declared for app a")
    }

    @Test func aDuplicateKeyIsRefused() {
        let text = "apps:\n  web:\n    artifact: x:1\n    hosts: [h.test]\n  web:\n    upstream: 127.0.0.1:1\n    hosts: [g.test]\n"
        #expect(failure(text).hasPrefix("baton.yml:"), "\(failure(text))")
        #expect(failure(text).contains("web"), "\(failure(text))")
    }

    private func failure(_ text: String) -> String {
        do {
            _ = try ApplyFileParser.parse(text, file: "baton.yml")
            return "no error"
        } catch {
            return error.message
        }
    }
}
