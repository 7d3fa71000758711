import BatonTestSupport
import Foundation
import Testing

/// Every golden file read by tools that are not Baton's: kubernetes-validate against the
/// Kubernetes 1.30 and current schemas, kubectl's client-side dry run where it can run without a
/// cluster, docker-compose and podman-compose for the Compose file. A missing tool is a
/// failure: scripts/setup installs them.
@Suite struct ExportValidationTests {
    static let kubernetesGoldens = ["probes.yaml", "secrets.yaml", "volumes.yaml", "ingress-tls.yaml", "replicas.yaml", "security-context.yaml"]

    @Test(arguments: kubernetesGoldens)
    func kubernetesSchemasAcceptTheGoldenFile(_ name: String) throws {
        for version in ["1.30.0", "1.37.0"] {
            let outcome = try #require(ManifestValidators.validateKubernetes(ExportGolden.path(name), version: version),
                                       "kubernetes-validate is not installed: run scripts/setup")
            #expect(outcome.status == 0, "\(name) against \(version): \(outcome.output)")
            #expect(outcome.output.contains("passed"), "\(outcome.output)")
        }
    }

    static let kubectlScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/kubectl_dry_run.sh").path

    @Test(arguments: kubernetesGoldens)
    func kubectlClientDryRunAcceptsTheGoldenFile(_ name: String) throws {
        let outcome = try #require(try ManifestValidators.kubectlDryRun(ExportGolden.path(name), script: Self.kubectlScript),
                                   "kubectl is not installed")
        #expect(outcome.status == 0, "\(name): \(outcome.output)")
        #expect(outcome.output.contains("deployment.apps/"), "\(outcome.output)")
        #expect(outcome.output.contains("(dry run)"), "\(outcome.output)")
        #expect(!outcome.output.contains("WRITE "), "a dry run wrote to the server: \(outcome.output)")
    }

    @Test func kubectlRefusesAKindItDoesNotKnow() throws {
        let directory = TempDir(prefix: "export-kubectl")
        defer { directory.remove() }
        try "apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: web}\n".write(toFile: directory.sub("typo.yaml"), atomically: true, encoding: .utf8)
        let outcome = try #require(try ManifestValidators.kubectlDryRun(directory.sub("typo.yaml"), script: Self.kubectlScript))
        #expect(outcome.status != 0, "\(outcome.output)")
    }

    @Test func theSchemaCheckCanFail() throws {
        let directory = TempDir(prefix: "export-invalid")
        defer { directory.remove() }
        let broken = try String(contentsOfFile: ExportGolden.path("security-context.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "readOnlyRootFilesystem: true", with: "readOnlyRootFilesystem: \"yes\"")
        try broken.write(toFile: directory.sub("broken.yaml"), atomically: true, encoding: .utf8)
        let outcome = try #require(ManifestValidators.validateKubernetes(directory.sub("broken.yaml")))
        #expect(outcome.status != 0, "\(outcome.output)")
    }

    @Test func composeToolsReadTheGoldenFile() throws {
        let file = ExportGolden.path("compose.yaml")
        let docker = try #require(ManifestValidators.dockerComposeConfig(file, environment: ["API_TOKEN": "t"]), "docker-compose is not installed: run scripts/setup")
        #expect(docker.status == 0, "\(docker.output)")
        #expect(docker.output.contains("PRICE: $$5") || docker.output.contains("PRICE: $5"), "\(docker.output)")
        let podman = try #require(ManifestValidators.podmanComposeDryRun(file, environment: ["API_TOKEN": "t"]), "podman-compose is not installed: run scripts/setup")
        #expect(podman.status == 0, "\(podman.output)")
        #expect(podman.output.contains("-e PRICE=$5"), "Compose reads the doubled $ as one: \(podman.output)")
        // Without the secret in the environment, Compose refuses to start it.
        let missing = try #require(ManifestValidators.podmanComposeDryRun(file, environment: [:], unsetting: ["API_TOKEN"]))
        #expect(missing.status != 0, "\(missing.output)")
        let unset = try #require(ManifestValidators.dockerComposeConfig(file, environment: ["API_TOKEN": ""]))
        #expect(unset.status != 0, "\(unset.output)")
    }
}
