import BatonOS

extension ControlClient {
    /// Every volume on disk, in use or not.
    public func volumes() throws -> [VolumeInfo] {
        try decode([VolumeInfo].self, try call("GET", "/v1/volumes"))
    }

    /// Removes the volume `name` of `app` (`shared` for a shared one) with its files; refused
    /// while a running sandbox binds it.
    public func removeVolume(app: String, name: String) throws {
        _ = try call("DELETE", "/v1/volumes/" + Self.escape(app) + "/" + Self.escape(name))
    }

    /// Removes the app; with `volumes`, its own volumes too (never the shared ones).
    public func removeApp(named name: String, volumes: Bool) throws {
        _ = try call("DELETE", "/v1/apps/" + Self.escape(name) + (volumes ? "?volumes=1" : ""))
    }
}
