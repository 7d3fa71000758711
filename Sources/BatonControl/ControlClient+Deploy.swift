import BatonOS
import FoundationEssentials

extension ControlClient {
    /// Added to a deploy's wait when its reference may name a registry image the daemon pulls.
    public static let pullReplySeconds = 3600

    public func deploy(app: String, ref: String) throws -> DeploymentInfo {
        try deploy(app: app, ref: ref, insecure: false)
    }

    /// `insecure`: plain HTTP when `ref` is a registry image the daemon pulls first.
    public func deploy(app: String, ref: String, insecure: Bool, bake: BakeSettings? = nil, verify: VerifyOptions? = nil) throws -> DeploymentInfo {
        var request = DeployRequest(ref: ref, insecure: insecure ? true : nil, bake: bake)
        request.verify = verify
        // A deploy waits through its bake window (at most BakeSettings.maxSeconds) too.
        return try decode(DeploymentInfo.self, try call("POST", "/v1/apps/\(Self.escape(app))/deploy",
                                                       body: try ControlJSON.encoder().encode(request),
                                                       replySeconds: Self.swapReplySeconds + Int(BakeSettings.maxSeconds)
                                                           + (ref.contains("/") ? Self.pullReplySeconds : 0)))
    }

    public func rollback(app: String, to ref: String?) throws -> DeploymentInfo {
        try decode(DeploymentInfo.self, try call("POST", "/v1/apps/\(Self.escape(app))/rollback",
                                                       body: try ControlJSON.encoder().encode(RollbackRequest(to: ref)), replySeconds: Self.swapReplySeconds))
    }

    public func history(app: String?) throws -> [DeploymentInfo] {
        try decode([DeploymentInfo].self, try call("GET", "/v1/deployments" + (app.map { "?app=\(Self.escape($0))" } ?? "")))
    }

    public func sandboxes(all: Bool) throws -> [SandboxInfo] {
        try decode([SandboxInfo].self, try call("GET", "/v1/sandboxes" + (all ? "?all=1" : "")))
    }

    public func stop(sandbox id: String) throws {
        _ = try call("POST", "/v1/sandboxes/\(Self.escape(id))/stop")
    }
}
