import BatonControl
import BatonExport
import Testing

/// One golden file per feature of `baton export k8s`; ExportValidationTests checks each with
/// kubernetes-validate and kubectl.
@Suite struct KubernetesExportTests {
    @Test func probesFromTheHealthCheck() throws {
        var app = ExportGolden.app()
        app.health = ExportHealth(path: "/ready", status: 204, timeout: 45)
        app.env = ["LOG_LEVEL=debug", "GREETING=hello world"]
        app.memory = 256 << 20
        app.cpus = 0.5
        app.pids = 128
        try ExportGolden.check(ExportGolden.joined(try KubernetesExport.files(for: app, namespace: nil)), "probes.yaml")
    }

    @Test func aStatusOutsideWhatProbesAcceptBecomesATCPProbe() throws {
        var app = ExportGolden.app()
        app.health = ExportHealth(path: "/auth", status: 401, timeout: 10)
        let text = try KubernetesExport.files(for: app, namespace: nil)[0].text
        #expect(text.contains("tcpSocket:"))
        #expect(!text.contains("httpGet:"))
        #expect(text.contains("# Probes: Baton expects status 401"))
    }

    @Test func secretsAreKeysWithPlaceholders() throws {
        var app = ExportGolden.app()
        app.secretNames = ["API_TOKEN", "DATABASE_URL"]
        let files = try KubernetesExport.files(for: app, namespace: "shop")
        #expect(files.map(\.path) == ["web.yaml", "secrets/web.yaml"])
        try ExportGolden.check(ExportGolden.joined(files), "secrets.yaml")
    }

    @Test func volumesBecomeClaims() throws {
        var app = ExportGolden.app()
        app.volumes = [AppVolume(name: "data", path: "/var/lib/web"), AppVolume(name: "config", path: "/etc/web", readOnly: true),
                       AppVolume(name: "uploads", path: "/srv/uploads", shared: true)]
        app.user = ExportUser(uid: 1000, gid: 1000)
        try ExportGolden.check(ExportGolden.joined(try KubernetesExport.files(for: app, namespace: nil)), "volumes.yaml")
    }

    @Test func ingressWithTLS() throws {
        var app = ExportGolden.app()
        app.hosts = ["web.example.com", "www.example.com", "*.preview.example.com"]
        app.tls = ExportTLS(certificateHosts: ["web.example.com", "www.example.com"], httpsRedirect: true, hsts: true)
        try ExportGolden.check(ExportGolden.joined(try KubernetesExport.files(for: app, namespace: nil)), "ingress-tls.yaml")
    }

    @Test func replicasAndStopFirst() throws {
        var app = ExportGolden.app()
        app.replicas = 3
        app.egressAllow = [ExportEgress(cidr: "10.0.0.0/8"), ExportEgress(cidr: "192.0.2.10/32", port: 5432)]
        var stopFirst = ExportGolden.app("worker")
        stopFirst.stopFirst = true
        stopFirst.networkNone = true
        stopFirst.image.pushed = false
        stopFirst.image.repository = "registry.invalid/baton/worker"
        try ExportGolden.check(ExportGolden.joined(try KubernetesExport.files(for: [app, stopFirst], namespace: nil)), "replicas.yaml")
    }

    @Test func securityContextAsTheSandbox() throws {
        var app = ExportGolden.app()
        app.user = ExportUser(uid: 10001, gid: 10001)
        let text = try KubernetesExport.files(for: app, namespace: nil)[0].text
        try ExportGolden.check(text, "security-context.yaml")
        for line in ["type: RuntimeDefault", "allowPrivilegeEscalation: false", "readOnlyRootFilesystem: true", "- ALL",
                     "runAsNonRoot: true", "runAsUser: 10001", "mountPath: /tmp", "medium: Memory"] {
            #expect(text.contains(line), "missing \(line)")
        }
    }

    @Test func rootAppsGetNoRunAsNonRoot() throws {
        let text = try KubernetesExport.files(for: ExportGolden.app(), namespace: nil)[0].text
        #expect(!text.contains("runAsNonRoot:"))
        #expect(!text.contains("runAsUser:"))
        #expect(text.contains("runs as root"))
    }

    @Test func badNamesAreRefused() throws {
        var app = ExportGolden.app()
        #expect(throws: (any Error).self) { try KubernetesExport.files(for: app, namespace: "Not_A_Namespace") }
        app.name = "Web"
        #expect(throws: (any Error).self) { try KubernetesExport.files(for: app, namespace: nil) }
        app = ExportGolden.app()
        app.image.digest = "sha256:short"
        #expect(throws: (any Error).self) { try KubernetesExport.files(for: app, namespace: nil) }
    }
}
