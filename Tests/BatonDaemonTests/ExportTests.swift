import BatonTestSupport
import Foundation
import Glibc
import Testing

/// `baton export` end to end: a real daemon serving a deployed app, a real registry the
/// export pushes to, and the outside validators reading what it wrote.
@Suite(.serialized) struct ExportTests {
    static let ready = geteuid() == 0 && RegistryServer.available

    /// A secret value that must appear in no exported file.
    static let secretValue = "s3cret-\(UUID().uuidString)"

    static func fixture() throws -> DeployFixture {
        let fixture = try DeployFixture(appFlags: [
            "--secret", "API_TOKEN=\(secretValue)", "--env", "LOG_LEVEL=debug", "--memory", "67108864", "--cpus", "0.5",
            "--volume", "data:/data",
        ])
        try fixture.publishSite("1")
        try fixture.baton(["deploy", "web", "site:1"])
        return fixture
    }

    /// Every regular file under `directory`, path relative to it, with its text.
    static func files(_ directory: String) -> [String: String] {
        var result: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while let name = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: directory + "/" + name, isDirectory: &isDirectory), !isDirectory.boolValue {
                result[name] = (try? String(contentsOfFile: directory + "/" + name, encoding: .utf8)) ?? "<unreadable>"
            }
        }
        return result
    }

    static func digest(of app: String, _ fixture: DeployFixture) throws -> String {
        let inspect = try fixture.baton(["app", "inspect", app])
        let object = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any]
        return try #require(object?["digest"] as? String)
    }

    @Test(.enabled(if: ready, "requires root and docker-registry"))
    func exportPushesTheDeployedArtifactAndPinsItsDigest() throws {
        let registry = try RegistryServer()
        defer { registry.stop() }
        let fixture = try Self.fixture()
        defer { fixture.finish() }
        let output = fixture.root + "-k8s"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let deployed = try Self.digest(of: "web", fixture)

        let exported = try fixture.baton(["export", "k8s", "web", "--registry", "\(registry.host)/team/web", "--insecure", "--replicas", "2", "-o", output])
        #expect(exported.stdout.isEmpty)
        let files = Self.files(output)
        #expect(files.keys.sorted() == ["secrets/web.yaml", "web.yaml"])
        let manifests = try #require(files["web.yaml"])
        #expect(manifests.contains("image: \(registry.host)/team/web@\(deployed)"))
        #expect(manifests.contains("replicas: 2"))
        #expect(manifests.contains("claimName: web-data"))

        // The registry holds that manifest under that digest: a cluster pulls the bytes Baton serves.
        let head = try RegistryCLI.program("/usr/bin/curl", [
            "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-I",
            "-H", "Accept: application/vnd.oci.image.manifest.v1+json",
            "http://\(registry.host)/v2/team/web/manifests/\(deployed)",
        ])
        #expect(head.stdout == "200", "\(head.stdout) \(head.stderr)")
        let copied = try RegistryCLI.program("/usr/bin/curl", ["-sS", "-H", "Accept: application/vnd.oci.image.manifest.v1+json",
                                                              "http://\(registry.host)/v2/team/web/manifests/\(deployed)"])
        let local = try Data(contentsOf: URL(fileURLWithPath: "\(fixture.root)/store/blobs/sha256/\(deployed.dropFirst(7))"))
        #expect(Data(copied.stdout.utf8) == local, "the registry's manifest is the store's, byte for byte")

        let secrets = try #require(files["secrets/web.yaml"])
        #expect(secrets.contains("kubectl create secret generic web-secrets --from-literal=API_TOKEN="))
        for (name, text) in files { #expect(!text.contains(Self.secretValue), "the secret's value is in \(name)") }

        if ManifestValidators.kubernetesValidate != nil {
            for name in files.keys {
                let outcome = try #require(ManifestValidators.validateKubernetes(output + "/" + name))
                #expect(outcome.status == 0, "\(name): \(outcome.output)")
            }
        }

        let kubectl = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/kubectl_dry_run.sh").path
        if let dryRun = try ManifestValidators.kubectlDryRun(output + "/web.yaml", script: kubectl) {
            #expect(dryRun.status == 0 && dryRun.output.contains("deployment.apps/web created (dry run)"), "\(dryRun.output)")
        }

        // Compose: same digest, the secret a reference to the environment.
        let compose = output + "/compose.yaml"
        try fixture.baton(["export", "compose", "web", "--registry", "\(registry.host)/team/web", "--insecure", "-o", compose])
        let composeText = try String(contentsOfFile: compose, encoding: .utf8)
        #expect(composeText.contains("image: \(registry.host)/team/web@\(deployed)"))
        #expect(composeText.contains("API_TOKEN: ${API_TOKEN:?"))
        #expect(!composeText.contains(Self.secretValue))
        if let checked = ManifestValidators.dockerComposeConfig(compose, environment: ["API_TOKEN": "from-the-environment"]) {
            #expect(checked.status == 0, "\(checked.output)")
        }
    }

    @Test(.enabled(if: ready, "requires root and docker-registry"))
    func badInputLeavesNoOutputAndChangesNothing() throws {
        let fixture = try Self.fixture()
        defer { fixture.finish() }
        let output = fixture.root + "-bad"
        defer { try? FileManager.default.removeItem(atPath: output) }

        func refused(_ arguments: [String], saying words: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let result = try fixture.baton(["export"] + arguments, allowFailure: true)
            #expect(result.status != 0, sourceLocation: sourceLocation)
            let lines = result.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
            #expect(lines.count == 1 && lines[0].contains(words), "\(result.stderr)", sourceLocation: sourceLocation)
            #expect(result.stdout.isEmpty, sourceLocation: sourceLocation)
        }

        // Nothing exists yet: a refused export leaves no directory.
        try refused(["k8s", "-o", output], saying: "name an app")
        try refused(["k8s", "web", "--all", "-o", output], saying: "not both")
        try refused(["k8s", "web", "--replicas", "-1", "-o", output], saying: "replicas")
        try refused(["k8s", "nosuch", "-o", output], saying: "nosuch")
        try fixture.baton(["app", "create", "idle", "--host", "idle.test"])
        try refused(["k8s", "idle", "-o", output], saying: "never been deployed")
        // A registry that is not there: the push fails before anything is written.
        let closed = try ReservedPort.released()
        try refused(["k8s", "web", "--registry", "127.0.0.1:\(closed)/team/web", "--insecure", "-o", output], saying: "127.0.0.1:\(closed)")
        try refused(["k8s", "web", "--registry", "127.0.0.1:\(closed)/team/web:1.0", "--insecure", "-o", output], saying: "without a tag")
        try refused(["k8s", "web", "--namespace", "Not_Valid", "-o", output], saying: "namespace")
        #expect(!FileManager.default.fileExists(atPath: output))

        // An artifact on --base host is not portable: refused unless --force.
        let hostSite = fixture.root + "/src/hostsite"
        try FileManager.default.createDirectory(atPath: hostSite + "/www", withIntermediateDirectories: true)
        try "ok\n".write(toFile: hostSite + "/www/health", atomically: true, encoding: .utf8)
        try fixture.baton(["artifact", "publish", "hostsite:1", hostSite, "--base", "host", "--port", "8000", "--health-path", "/health",
                           "--cmd", "/bin/busybox httpd -f -p 8000 -h /www"])
        try fixture.baton(["app", "create", "hosted", "--host", "hosted.test"])
        try fixture.baton(["deploy", "hosted", "hostsite:1"])
        try refused(["k8s", "hosted", "-o", output], saying: "--base host")
        #expect(!FileManager.default.fileExists(atPath: output))
        let forced = try fixture.baton(["export", "k8s", "hosted", "--force"])
        #expect(forced.stdout.contains("kind: Deployment"))
        // --all: every deployed app, the undeployed one skipped and named.
        try refused(["k8s", "--all", "-o", output], saying: "--base host")
        let all = try fixture.baton(["export", "k8s", "--all", "--force"])
        #expect(all.stdout.contains("name: web\n") && all.stdout.contains("name: hosted\n") && !all.stdout.contains("name: idle\n"))
        #expect(all.stderr.contains("skipping app idle: never deployed"), "\(all.stderr)")

        // A good export, then bad ones into the same directory: it stays as it was.
        try fixture.baton(["export", "k8s", "web", "-o", output])
        let before = Self.files(output)
        #expect(before.keys.sorted() == ["secrets/web.yaml", "web.yaml"])
        try refused(["k8s", "web", "--registry", "127.0.0.1:\(closed)/team/web", "--insecure", "-o", output], saying: "127.0.0.1:\(closed)")
        try refused(["k8s", "hosted", "-o", output], saying: "--base host")
        #expect(Self.files(output) == before)
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: fixture.root + "/..").contains { $0.contains(".export-") }))

        // -o naming a file: refused, the file untouched.
        let file = output + "/web.yaml"
        try refused(["k8s", "web", "-o", file], saying: "not a directory")
        try refused(["compose", "web", "-o", output], saying: "not a regular file")
        #expect(Self.files(output) == before)
    }

    @Test(.enabled(if: ready, "requires root and docker-registry"))
    func anApplyFileExportsWithoutItsSecretValues() throws {
        let fixture = try Self.fixture()
        defer { fixture.finish() }
        let apply = fixture.root + "/apps.yml"
        try """
            apps:
              shop:
                artifact: site:1
                hosts: [shop.test]
                health: { path: /health, timeout: 20 }
                secrets:
                  STRIPE_KEY: \(Self.secretValue)
                  DB_PASSWORD: { file: ./never-read }
              worker:
                artifact: site:1
                hosts: [worker.test]
                strategy: stop-first
            """.write(toFile: apply, atomically: true, encoding: .utf8)
        let output = fixture.root + "-apply"
        defer { try? FileManager.default.removeItem(atPath: output) }
        try fixture.baton(["export", "k8s", "-f", apply, "-o", output, "--namespace", "shop"])
        let files = Self.files(output)
        #expect(files.keys.sorted() == ["secrets/shop.yaml", "shop.yaml", "worker.yaml"])
        for (name, text) in files {
            #expect(!text.contains(Self.secretValue), "the secret's value is in \(name)")
            #expect(text.contains("namespace: shop"))
        }
        #expect(files["worker.yaml"]?.contains("type: Recreate") == true)
        #expect(files["shop.yaml"]?.contains("path: /health") == true)
        // A secret file is named, never opened (this one does not exist).
        #expect(files["secrets/shop.yaml"]?.contains("--from-literal=DB_PASSWORD=") == true)
    }
}
