import BatonApplyFile
import BatonCommandLine
import BatonControl
import BatonExport
import BatonOS
import BatonRegistry
import BatonSandbox
import BatonStore
import FoundationEssentials
import Glibc

/// Gathers what an export writes: each app's settings (from the daemon, or an apply file, which
/// needs none), its artifact's image config from this host's store, and with `--registry` the
/// artifact pushed there. Every app is checked before the first push.
struct ExportSource {
    let options: ExportRunOptions

    /// An app as found, before its image is placed.
    private struct Found {
        var spec: AppSpec
        var artifact: ResolvedArtifact
        var replicas: Int
        var certificateHosts: [String]
    }

    /// Where images go when no registry is given: a name that cannot resolve, so nothing
    /// pulls from it before the user pushes and edits it (the files say so).
    static let unpushedRegistry = "registry.invalid/baton"

    func apps(_ selection: ExportSelection) throws -> [ExportApp] {
        let store = try ArtifactStore(root: options.rootPath)
        let found = try selection.file.map { try fromFile($0, app: selection.app, store: store) }
            ?? fromDaemon(app: selection.app, store: store)
        guard !found.isEmpty else { throw BatonError(.notFound, "no deployed sandbox app to export") }
        let repository = try options.registry.map(Self.repository)
        let several = selection.app == nil
        // Every app is checked as the generators will before anything is pushed.
        var apps = try found.map { app in
            let target = repository.map { several ? $0 + "/" + app.spec.name : $0 } ?? Self.unpushedRegistry + "/" + app.spec.name
            let image = ExportImage(repository: target, digest: app.artifact.digest, pushed: false, source: app.artifact.name ?? app.artifact.digest)
            return try exportApp(app, image: image).validated()
        }
        if repository != nil {
            for index in apps.indices {
                try push(found[index].artifact, to: apps[index].image.repository)
                apps[index].image.pushed = true
            }
        }
        return apps
    }

    /// `REGISTRY/REPO`: a registry host and a repository, no tag or digest (the digest is the
    /// artifact's own).
    static func repository(_ text: String) throws -> String {
        let reference = try RegistryReference(parsing: text)
        guard reference.tag == nil, reference.digest == nil else {
            throw BatonError(.invalidArgument, "give --registry as REGISTRY/REPO, without a tag or digest: the image is pinned by the artifact's digest")
        }
        return reference.registry + "/" + reference.repository
    }

    private func fromDaemon(app name: String?, store: ArtifactStore) throws -> [Found] {
        let client = ControlClient(socketPath: options.socketPath)
        let apps: [AppInfo]
        if let name {
            let app = try client.app(named: name)
            guard app.kind == .sandbox else {
                throw BatonError(.invalidArgument, "app \(name) routes to \(app.upstream ?? "an upstream") outside Baton: there is no artifact to export")
            }
            guard app.digest != nil else {
                throw BatonError(.invalidArgument, "app \(name) has never been deployed: deploy it first ('baton deploy \(name) REF'), then export what serves")
            }
            apps = [app]
        } else {
            apps = try client.listApps().filter { $0.kind == .sandbox && !$0.preview }
            for app in apps where app.digest == nil {
                StandardStream.line("skipping app \(app.name): never deployed", to: STDERR_FILENO)
            }
        }
        // Certificates are the HTTPS listener's; a daemon without one lists none.
        let certificates = (try? client.certificates().map(\.host)) ?? []
        return try apps.compactMap { app -> Found? in
            guard let digest = app.digest else { return nil }
            let artifact = try resolve(digest, app: app.name, store: store)
            var spec = AppSpec(name: app.name, hosts: app.hosts, port: app.port, healthPath: app.healthPath, healthStatus: app.healthStatus,
                               healthTimeout: app.healthTimeout, drainTimeout: app.drainTimeout, memory: app.memory, pids: app.pids,
                               env: app.env, cpus: app.cpus, secrets: app.secrets, network: app.network, egressAllow: app.egressAllow, volumes: app.volumes,
                               strategy: app.strategy, httpsRedirect: app.httpsRedirect, hsts: app.hsts)
            spec.replicas = app.replicas
            return Found(spec: spec, artifact: artifact, replicas: app.replicas,
                         certificateHosts: app.hosts.filter { host in certificates.contains { Self.covers($0, host) } })
        }
    }

    private func fromFile(_ path: String, app name: String?, store: ArtifactStore) throws -> [Found] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw BatonError(.invalidArgument, "cannot read \(path): \(error)")
        }
        let file = try ApplyFileParser.parse(text, file: path)
        var declared = file.apps.filter { $0.artifact != nil }
        if let name {
            declared = declared.filter { $0.name == name }
            guard !declared.isEmpty else { throw BatonError(.notFound, "\(path) declares no sandbox app named \(name)") }
        }
        return try declared.map { app in
            var spec = app.spec
            // Only the names of secrets are exported: a `{ file: PATH }` secret is never read.
            spec.secrets += app.secretFiles.map { AppConfig.key($0) + "=" }
            do throws(BatonError) {
                spec = try spec.validated()
            } catch {
                throw BatonError(error.code, "\(app.location): app \(app.name): \(error.message)")
            }
            let artifact = try resolve(app.artifact!, app: app.name, store: store)
            return Found(spec: spec, artifact: artifact, replicas: spec.replicas ?? 1, certificateHosts: [])
        }
    }

    /// The artifact, refused when it is published on `--base host` (unless `--force`): its
    /// /usr and /lib are this host's, bound at run time, and travel nowhere.
    private func resolve(_ ref: String, app: String, store: ArtifactStore) throws -> ResolvedArtifact {
        let artifact = try store.resolve(ref)
        let hostBound = try artifact.base == "host" || !store.hostBindPaths(of: artifact).isEmpty
        if hostBound && !options.force {
            throw BatonError(.invalidArgument,
                "app \(app) runs \(artifact.name ?? artifact.digest), published on --base host (this host's own /usr and /lib, bound at run time): its image does not run elsewhere; publish it on a base artifact, or give --force to export it anyway")
        }
        return artifact
    }

    private func push(_ artifact: ResolvedArtifact, to repository: String) throws {
        var push = RegistryPush(root: options.rootPath, artifact: artifact.digest, destination: try RegistryReference(parsing: repository))
        push.insecure = options.insecure
        push.progress = RegistryCommand.progress
        let request = push
        let result = try RegistryCommand.blocking { try await request.run() }
        guard result.digest == artifact.digest else {
            throw BatonError(.corrupt, "\(repository) stored \(result.digest) for \(artifact.digest): the registry changed the manifest")
        }
        StandardStream.line("pushed \(artifact.name ?? artifact.digest) to \(result.destination)", to: STDERR_FILENO)
    }

    private func exportApp(_ found: Found, image: ExportImage) throws -> ExportApp {
        let spec = found.spec
        let config = found.artifact.config
        guard let port = spec.port ?? config.exposedPorts.first else {
            throw BatonError(.invalidArgument, "app \(spec.name) has no port and its artifact records none: set one with 'baton app set \(spec.name) --port N'")
        }
        let user = config.user.flatMap(UserSpec.parse).map { ExportUser(uid: $0.uid, gid: $0.gid) }
        let health = ExportHealth(path: spec.healthPath ?? config.healthPath ?? "/", status: spec.healthStatus ?? AppSpec.defaultHealthStatus,
                                  timeout: spec.healthTimeout ?? AppSpec.defaultHealthTimeout)
        return ExportApp(
            name: spec.name, image: image, hosts: spec.hosts, port: port, health: health,
            replicas: found.replicas, memory: spec.memory, cpus: spec.cpus, pids: spec.pids, env: spec.env,
            secretNames: spec.secrets.map(AppConfig.key),
            volumes: spec.volumes,
            user: user, drainTimeout: spec.drainTimeout ?? AppSpec.defaultDrainTimeout, stopFirst: spec.strategy == .stopFirst,
            tls: ExportTLS(certificateHosts: found.certificateHosts, httpsRedirect: spec.httpsRedirect ?? false, hsts: spec.hsts ?? false),
            networkNone: spec.network == "none",
            egressAllow: (spec.egressAllow ?? []).compactMap(EgressRule.init(parsing:)).map {
                ExportEgress(cidr: $0.network.description, port: $0.port.map(Int.init))
            })
    }

    /// A certificate for `pattern` (`a.example.com`, `*.example.com`) serves `host`.
    static func covers(_ pattern: String, _ host: String) -> Bool {
        if pattern == host { return true }
        guard pattern.hasPrefix("*."), let dot = host.firstIndex(of: ".") else { return false }
        return host[dot...] == pattern.dropFirst()
    }
}
