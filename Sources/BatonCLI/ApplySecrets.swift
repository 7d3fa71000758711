import BatonControl
import BatonOS

/// An apply file's secrets: the files it names are read here (the daemon never opens an
/// operator's paths), and whether a declared value differs from the stored one is asked of
/// the daemon, which never sends a value back.
enum ApplySecrets {
    /// The file with each `{ file: PATH }` secret read into its app's spec; a relative PATH is
    /// taken from the apply file's directory.
    static func read(_ file: ApplyFile) throws(BatonError) -> ApplyFile {
        var file = file
        let directory = PathName.parent(of: PathName.absolute(file.path))
        for index in file.apps.indices {
            let app = file.apps[index]
            for reference in app.secretFiles {
                guard let (name, path) = SecretFile.parse(reference) else { continue }
                do {
                    let value = try SecretFile.read(path.hasPrefix("/") ? path : directory + "/" + path)
                    file.apps[index].spec.secrets.append(name + "=" + value)
                } catch {
                    throw BatonError(error.code, "\(app.location): app \(app.name): secret \(name): \(error.message)")
                }
            }
            do {
                file.apps[index].spec = try file.apps[index].spec.validated()
            } catch {
                throw BatonError(error.code, "\(app.location): app \(app.name): \(error.message)")
            }
        }
        return file
    }

    /// Marks the apps whose declared secrets differ from the daemon's in value (a dry run of
    /// the configuration each would get: to root the daemon answers exactly).
    static func compare(_ apps: [ResolvedApp], with current: [AppInfo], client: ControlClient) throws -> [ResolvedApp] {
        try apps.map { app in
            var app = app
            let spec = app.declared.spec
            guard !spec.secrets.isEmpty, current.contains(where: { $0.name == spec.name && $0.kind == .sandbox }) else { return app }
            let answer = try client.configure(app: spec.name, AppConfigRequest(replacement: AppConfig(spec), dryRun: true))
            app.secretValuesChanged = answer.changes.contains("secrets")
            return app
        }
    }
}
