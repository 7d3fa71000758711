import FoundationEssentials

/// `GET /v1/apps/NAME/effective`: what the app's next sandbox runs with where the app leaves a
/// setting to its artifact or to Baton's default, and where each value comes from.
public struct EffectiveSetting: Codable, Sendable, Equatable {
    /// `"8000"`, `"/healthz"`; nil when nothing sets it (an app with no port whose artifact
    /// records none cannot deploy).
    public var value: String?
    /// `app` (its own setting), `artifact` (of the serving digest), `default` or `unset`.
    public var source: String

    public init(value: String?, source: String) {
        self.value = value
        self.source = source
    }

    /// `8000 (artifact)`, `- (unset)`.
    public var text: String { "\(value ?? "-") (\(source))" }
}

/// Keyed by the app's own field names (`port`, `health_path`); encoded in that order.
public struct AppEffective: Codable, Sendable, Equatable {
    public var port: EffectiveSetting
    public var healthPath: EffectiveSetting
    /// The artifact the artifact-sourced values were read from (nil: nothing deployed yet).
    public var artifact: String?

    public init(port: EffectiveSetting, healthPath: EffectiveSetting, artifact: String?) {
        self.port = port
        self.healthPath = healthPath
        self.artifact = artifact
    }
}

extension ControlClient {
    public func effectiveSettings(app name: String) throws -> AppEffective {
        try decode(AppEffective.self, try call("GET", "/v1/apps/" + Self.escape(name) + "/effective"))
    }
}
