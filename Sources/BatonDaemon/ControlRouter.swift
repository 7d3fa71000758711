import BatonApplyFile
import BatonControl
import BatonOS
import BatonProxy
import BatonStore
import Foundation

/// A decoded control request and the reply to it; the transport stays in `ControlServer`.
struct ControlRequest: Sendable {
    var method: String
    var path: String
    var body: Data
    /// The client runs as root (SO_PEERCRED), who may read the state database anyway.
    var peerIsRoot = false
}

struct ControlReply: Sendable {
    var status: Int
    var contentType = "application/json"
    var body: Data
    var headers: [(String, String)] = []
    /// Runs once the reply has been written (a hand-off's old daemon exits only then).
    var sent: (@Sendable () -> Void)?
}

/// Maps control API routes to the service. Every route is listed here:
///   GET /v1/health, GET /v1/apps, POST /v1/apps, GET /v1/apps/NAME,
///   PATCH /v1/apps/NAME (an AppSpec: its hosts, upstream, volumes and strategy),
///   DELETE /v1/apps/NAME[?volumes=1], GET /v1/volumes, DELETE /v1/volumes/APP/NAME,
///   POST /v1/apps/NAME/config (an AppConfigRequest; answers an AppConfigResult),
///   POST /v1/apps/NAME/deploy, POST /v1/apps/NAME/rollback, GET /v1/deployments[?app=NAME],
///   GET /v1/sandboxes[?all=1], POST /v1/sandboxes/ID/stop, GET /v1/sandboxes/ID/log[?offset=N],
///   POST /v1/previews (a PreviewRequest), GET /v1/previews, DELETE /v1/previews/NAME,
///   POST /v1/apply/parse (an ApplyParseRequest; answers the ApplyFile it declares),
///   POST /v1/push/plan (a PushPlanRequest; answers a PushPlan), PUT /v1/blobs/DIGEST (the
///   blob's bytes, streamed to the store by `BlobUpload` in `ControlHandler`, never here),
///   POST /v1/push/bind (a PushBindRequest), POST /v1/artifacts/resolve (an ArtifactRef),
///   POST /v1/artifacts/pull (a PullRequest; answers a PullReply),
///   GET /metrics (Prometheus text); the certificate routes in ControlRouter+Certificates.swift.
struct ControlRouter: Sendable {
    let service: ControlService
    let deploys: DeployService
    let volumes: VolumeService
    let metrics: ProxyMetrics
    /// The daemon's own store, for pushes from other hosts.
    var artifacts: ArtifactReceiveService { ArtifactReceiveService(root: deploys.root) }
    /// Previews answer at NAME.<previewDomain>.
    var previewDomain = Daemon.Options.defaultPreviewDomain
    /// `baton cert …` (ControlRouter+Certificates.swift).
    var certificates: CertificateService?
    /// Hand-off (issue 15): what holds changes out of one, and the daemon that hands over.
    var gate: ControlGate?
    var daemon: Daemon?

    /// Requests that change state pass the hand-off gate (ControlGate); reads never wait.
    func handle(_ request: ControlRequest) async -> ControlReply {
        guard let gate, request.method != "GET", !Self.isDaemonRoute(request) else { return await answer(request) }
        do {
            try await gate.enter()
        } catch {
            var reply = Self.error(BatonError(.unavailable, "the daemon handed over to pid \(error.pid) while this request waited: run it again"))
            reply.headers = [(ControlClient.handedOverHeader, String(error.pid))]
            return reply
        }
        let reply = await answer(request)
        await gate.leave()
        return reply
    }

    private func answer(_ request: ControlRequest) async -> ControlReply {
        do {
            return try await route(request)
        } catch let error as BatonError {
            return Self.error(error)
        } catch {
            return Self.error(BatonError(.invalidArgument, "bad request: \(error)"))
        }
    }

    private func route(_ request: ControlRequest) async throws -> ControlReply {
        let parts = request.path.split(separator: "?")[0].split(separator: "/").map(String.init)
        if Self.isCertificateRoute(parts) { return try await routeCertificates(request, parts) }
        if Self.isDaemonRoute(request) { return try await routeDaemon(request, parts) }
        switch (request.method, parts.count, parts.first) {
        case ("GET", 1, "metrics"):
            return ControlReply(status: 200, contentType: "text/plain; version=0.0.4", body: Data(metrics.render().utf8))
        case ("GET", 2, "v1") where parts[1] == "health":
            return try Self.json(200, ["status": "ok"])
        case ("GET", 2, "v1") where parts[1] == "apps":
            return try Self.json(200, try await service.listApps())
        case ("POST", 2, "v1") where parts[1] == "apps":
            let spec = try ControlJSON.decoder().decode(AppSpec.self, from: request.body)
            return try Self.json(201, try await service.createApp(spec))
        case ("GET", 3, "v1") where parts[1] == "apps":
            return try Self.json(200, try await service.app(named: parts[2]))
        case ("PATCH", 3, "v1") where parts[1] == "apps":
            let spec = try ControlJSON.decoder().decode(AppSpec.self, from: request.body)
            return try Self.json(200, try await service.updateApp(named: parts[2], spec))
        case ("POST", 4, "v1") where parts[1] == "apps" && parts[3] == "deploy":
            let body = try ControlJSON.decoder().decode(DeployRequest.self, from: request.body)
            if RegistryReference.looksLikeRegistry(body.ref) {
                return try Self.json(200, try await deploys.deploy(app: parts[2], image: body.ref, insecure: body.insecure ?? false,
                                                                   bake: body.bake, verify: body.verify))
            }
            return try Self.json(200, try await deploys.deploy(app: parts[2], ref: body.ref, bake: body.bake, verify: body.verify))
        case ("GET", 4, "v1") where parts[1] == "apps" && parts[3] == "effective":
            return try Self.json(200, try await deploys.effectiveSettings(app: parts[2]))
        case ("POST", 4, "v1") where parts[1] == "apps" && parts[3] == "config":
            let body = try ControlJSON.decoder().decode(AppConfigRequest.self, from: request.body)
            return try Self.json(200, try await deploys.configure(app: parts[2], body, peerIsRoot: request.peerIsRoot))
        case ("POST", 4, "v1") where parts[1] == "apps" && parts[3] == "rollback":
            let body = try ControlJSON.decoder().decode(RollbackRequest.self, from: request.body)
            return try Self.json(200, try await deploys.rollback(app: parts[2], to: body.to))
        case ("GET", 2, "v1") where parts[1] == "doctor":
            return try Self.json(200, try await deploys.doctor(fix: false))
        case ("POST", 3, "v1") where parts[1] == "doctor" && parts[2] == "fix":
            // It kills processes and removes what it finds: root's to ask for.
            guard request.peerIsRoot else { throw BatonError(.invalidArgument, "only root may run 'baton doctor --fix'") }
            return try Self.json(200, try await deploys.doctor(fix: true))
        case ("GET", 2, "v1") where parts[1] == "deployments":
            return try Self.json(200, try await deploys.history(app: Self.query(request.path, "app")))
        case ("GET", 2, "v1") where parts[1] == "sandboxes":
            return try Self.json(200, try await deploys.sandboxes(all: Self.query(request.path, "all") == "1"))
        case ("POST", 4, "v1") where parts[1] == "sandboxes" && parts[3] == "stop":
            try await deploys.stop(sandbox: parts[2])
            return ControlReply(status: 204, body: Data())
        case ("DELETE", 3, "v1") where parts[1] == "apps":
            _ = try await service.app(named: parts[2])
            try await deploys.removeSandboxes(of: parts[2])
            if Self.query(request.path, "volumes") == "1" { try await volumes.removeAll(ofApp: parts[2]) }
            try await service.removeApp(named: parts[2])
            return ControlReply(status: 204, body: Data())
        case ("GET", 2, "v1") where parts[1] == "volumes":
            return try Self.json(200, try await volumes.list())
        case ("DELETE", 4, "v1") where parts[1] == "volumes":
            let (app, name) = (parts[2].removingPercentEncoding ?? parts[2], parts[3].removingPercentEncoding ?? parts[3])
            try await volumes.remove(app: app, name: name)
            return ControlReply(status: 204, body: Data())
        case ("POST", 2, "v1") where parts[1] == "previews":
            let body = try ControlJSON.decoder().decode(PreviewRequest.self, from: request.body)
            return try Self.json(200, try await deploys.createPreview(body, domain: previewDomain))
        case ("GET", 2, "v1") where parts[1] == "previews":
            return try Self.json(200, try await deploys.previews())
        case ("DELETE", 3, "v1") where parts[1] == "previews":
            try await deploys.removePreview(named: parts[2])
            return ControlReply(status: 204, body: Data())
        case ("POST", 3, "v1") where parts[1] == "apply" && parts[2] == "parse":
            let body = try ControlJSON.decoder().decode(ApplyParseRequest.self, from: request.body)
            // On a thread of its own: the control API's requests run on Swift's small shared pool.
            let file = try await DetachedThread.run { try ApplyFileParser.parse(body.text, file: body.file) }
            return try Self.json(200, file)
        case ("GET", 4, "v1") where parts[1] == "sandboxes" && parts[3] == "log":
            // Logs are root's files on this host (the root is 0700): the same through the API.
            guard request.peerIsRoot else {
                throw BatonError(.invalidArgument, "only root may read a sandbox's log (it is root's file on the daemon's host)")
            }
            let offset = Self.query(request.path, "offset").flatMap { Int64($0) }
            return try Self.json(200, try await SandboxLogReader(root: deploys.root).read(id: parts[2], offset: offset))
        case ("POST", 3, "v1") where parts[1] == "push" && parts[2] == "plan":
            return try Self.json(200, try await artifacts.plan(try ControlJSON.decoder().decode(PushPlanRequest.self, from: request.body)))
        case ("POST", 3, "v1") where parts[1] == "push" && parts[2] == "bind":
            return try Self.json(200, try await artifacts.bind(try ControlJSON.decoder().decode(PushBindRequest.self, from: request.body)))
        case ("POST", 3, "v1") where parts[1] == "artifacts" && parts[2] == "pull":
            return try Self.json(200, try await deploys.pull(try ControlJSON.decoder().decode(PullRequest.self, from: request.body)))
        case ("POST", 3, "v1") where parts[1] == "artifacts" && parts[2] == "resolve":
            return try Self.json(200, try await artifacts.resolve(try ControlJSON.decoder().decode(ArtifactRef.self, from: request.body)))
        default:
            throw BatonError(.notFound, "no control route \(request.method) \(request.path)")
        }
    }

    /// The value of `name` in the path's query string (names and values are plain here).
    static func query(_ path: String, _ name: String) -> String? {
        guard let query = path.split(separator: "?", maxSplits: 1).dropFirst().first else { return nil }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0] == name { return String(parts[1]).removingPercentEncoding ?? String(parts[1]) }
        }
        return nil
    }

    static func json<T: Encodable>(_ status: Int, _ value: T) throws -> ControlReply {
        ControlReply(status: status, body: try ControlJSON.encoder().encode(value))
    }

    static func error(_ error: BatonError) -> ControlReply {
        let status: Int
        switch error.code {
        case .invalidArgument, .corrupt: status = 400
        case .notFound: status = 404
        case .conflict: status = 409
        case .unavailable: status = 503
        case .timeout: status = 504
        default: status = 500
        }
        let body = ControlErrorBody(error: error.message, code: error.code.rawValue)
        return ControlReply(status: status, body: (try? ControlJSON.encoder().encode(body)) ?? Data())
    }
}
