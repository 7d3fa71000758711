import BatonControl
import BatonOS

/// Turns every artifact REF of a file into its digest before anything changes.
public enum ApplyResolver {
    /// `digest` maps a REF to its manifest digest (the store's resolve); an unknown artifact
    /// fails naming the app, the REF and where the file names it.
    public static func resolve(_ file: ApplyFile, digest: (String) throws -> String) throws(BatonError) -> [ResolvedApp] {
        var resolved: [ResolvedApp] = []
        for app in file.apps {
            guard let ref = app.artifact else {
                resolved.append(ResolvedApp(declared: app, digest: nil))
                continue
            }
            do {
                resolved.append(ResolvedApp(declared: app, digest: try digest(ref)))
            } catch {
                let place = "\(app.artifactLocation ?? app.location): app \(app.name)"
                guard let error = error as? BatonError, error.code != .notFound else {
                    throw BatonError(.notFound, "\(place): unknown artifact \(ref): publish or import it first (see 'baton artifact ls')")
                }
                throw BatonError(error.code, "\(place): artifact \(ref): \(error.message)")
            }
        }
        return resolved
    }
}
