import BatonOS
import BatonStore

/// Turns a Batonfile's `FROM` into the base a build stacks on: `scratch`, `host` (as
/// `artifact publish --base host`), a local artifact (`NAME:VERSION`, `NAME@sha256:…`,
/// `sha256:…`), or a registry image (`REGISTRY/REPO[:TAG|@sha256:…]`).
///
/// Registry images are the one seam: `pull` brings the image into the store and returns a
/// local reference to it. Until registry pulls are wired in, `localOnly` refuses them.
public struct BaseResolver: Sendable {
    /// Pulls a registry reference into `store`; returns a local REF (e.g. `sha256:…`).
    public var pull: @Sendable (_ reference: String, _ store: ArtifactStore) throws -> String

    public init(pull: @escaping @Sendable (_ reference: String, _ store: ArtifactStore) throws -> String) {
        self.pull = pull
    }

    /// Local bases only: a registry image is refused with a message saying what to do.
    public static let localOnly = BaseResolver { reference, _ in
        throw BatonError(.unavailable,
            "FROM \(reference): registry images are not available in this build; use a local artifact (NAME:VERSION), host or scratch")
    }

    /// Whether `reference` names a registry image: its first path component is a host name
    /// (has a '.' or a ':' port, or is `localhost`), as Docker decides.
    public static func isRegistryReference(_ reference: String) -> Bool {
        guard let slash = reference.firstIndex(of: "/") else { return false }
        let first = reference[..<slash]
        return first.contains(".") || first.contains(":") || first == "localhost"
    }

    func resolve(_ reference: String, in store: ArtifactStore) throws -> BuiltImage.Base {
        switch reference {
        case "scratch": return .none
        case "host":
            let host = try store.hostBaseLayer()
            return .host(layer: host.layer, binds: host.binds)
        default:
            let local = Self.isRegistryReference(reference) ? try pull(reference, store) : reference
            return .artifact(try store.resolve(local))
        }
    }
}
