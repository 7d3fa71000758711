import BatonControl
import BatonOS
import BatonStore

/// `app inspect`'s `effective` object: the values DeployService.settings would use now.
extension DeployService {
    func effectiveSettings(app name: String) throws -> AppEffective {
        guard let app = try database.app(named: name) else {
            throw BatonError(.notFound, "no app \(name): see 'baton app ls'")
        }
        let artifact = try app.digest.map { try ArtifactStore(root: root).resolve($0).config }
        let port: EffectiveSetting
        if let own = app.port {
            port = EffectiveSetting(value: String(own), source: "app")
        } else if let first = artifact?.exposedPorts.first {
            port = EffectiveSetting(value: String(first), source: "artifact")
        } else {
            port = EffectiveSetting(value: nil, source: app.kind == .upstream ? "upstream app" : "unset")
        }
        let health: EffectiveSetting
        if let own = app.healthPath {
            health = EffectiveSetting(value: own, source: "app")
        } else if let path = artifact?.healthPath {
            health = EffectiveSetting(value: path, source: "artifact")
        } else {
            health = EffectiveSetting(value: "/", source: "default")
        }
        return AppEffective(port: port, healthPath: health, artifact: app.digest)
    }
}
