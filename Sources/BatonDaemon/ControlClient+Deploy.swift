import BatonOS
import Foundation

extension ControlClient {
    public func deploy(app: String, ref: String) throws -> DeploymentInfo {
        try decodeReply(DeploymentInfo.self, try call("POST", "/v1/apps/\(Self.pathComponent(app))/deploy",
                                                       body: try ControlJSON.encoder().encode(DeployRequest(ref: ref))))
    }

    public func rollback(app: String, to ref: String?) throws -> DeploymentInfo {
        try decodeReply(DeploymentInfo.self, try call("POST", "/v1/apps/\(Self.pathComponent(app))/rollback",
                                                       body: try ControlJSON.encoder().encode(RollbackRequest(to: ref))))
    }

    public func history(app: String?) throws -> [DeploymentInfo] {
        try decodeReply([DeploymentInfo].self, try call("GET", "/v1/deployments" + (app.map { "?app=\(Self.pathComponent($0))" } ?? "")))
    }

    public func sandboxes(all: Bool) throws -> [SandboxInfo] {
        try decodeReply([SandboxInfo].self, try call("GET", "/v1/sandboxes" + (all ? "?all=1" : "")))
    }

    public func stop(sandbox id: String) throws {
        _ = try call("POST", "/v1/sandboxes/\(Self.pathComponent(id))/stop")
    }

    static func pathComponent(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~:"))) ?? text
    }

    func decodeReply<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T {
        do {
            return try ControlJSON.decoder().decode(type, from: data)
        } catch {
            throw BatonError(.internal, "cannot read the daemon's reply: \(error)")
        }
    }
}
