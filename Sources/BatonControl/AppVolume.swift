import BatonOS

/// A directory an app keeps across its sandboxes: `--volume NAME:/path[:ro]`, or
/// `--volume shared:NAME:/path[:ro]` for one that every app declaring it shares. The daemon
/// keeps it at `$BATON_ROOT/volumes/APP/NAME` (`volumes/shared/NAME` when shared).
public struct AppVolume: Codable, Sendable, Equatable, CustomStringConvertible {
    public var name: String
    /// Where the sandbox sees it.
    public var path: String
    public var readOnly: Bool
    public var shared: Bool

    public init(name: String, path: String, readOnly: Bool = false, shared: Bool = false) {
        self.name = name
        self.path = path
        self.readOnly = readOnly
        self.shared = shared
    }

    /// The directory under `volumes/` that holds the volumes of `app`, or the shared ones.
    public static let sharedOwner = "shared"

    /// Whose volume this is in `app`: the app's name, or `shared`.
    public func owner(app: String) -> String { shared ? Self.sharedOwner : app }

    /// The flag's text: `NAME:/path`, `NAME:/path:ro`, `shared:NAME:/path[:ro]` (`:rw` is
    /// accepted for symmetry). Nil when it has none of these forms.
    public static func parse(_ text: String) -> AppVolume? {
        var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var readOnly = false
        if parts.count >= 3, let mode = parts.last, mode == "ro" || mode == "rw" {
            readOnly = mode == "ro"
            parts.removeLast()
        }
        var shared = false
        if parts.count == 3, parts[0] == sharedOwner {
            shared = true
            parts.removeFirst()
        }
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return AppVolume(name: parts[0], path: parts[1], readOnly: readOnly, shared: shared)
    }

    public var description: String {
        (shared ? Self.sharedOwner + ":" : "") + name + ":" + path + (readOnly ? ":ro" : "")
    }

    public static let formHint = "use NAME:/path, NAME:/path:ro or shared:NAME:/path"

    /// Refuses what no sandbox of `app` could bind: a bad name, a path that is not a plain
    /// absolute one or lies over the sandbox's own mounts, a name or path given twice, and
    /// own volumes for an app named `shared` (its directory holds the shared volumes).
    static func validate(_ volumes: [AppVolume], app: String) throws(BatonError) {
        var seen: [AppVolume] = []
        for volume in volumes {
            guard AppValidation.isValidName(volume.name) else {
                throw BatonError(.invalidArgument, "invalid volume name '\(volume.name)': \(AppValidation.nameRule)")
            }
            if let problem = SandboxPath.problem(volume.path, "volume path") {
                throw BatonError(.invalidArgument, problem)
            }
            if !volume.shared && app == sharedOwner {
                throw BatonError(.invalidArgument,
                    "app \(app) cannot have volumes of its own: volumes/\(sharedOwner) holds the shared volumes; declare shared:\(volume.name):\(volume.path) or rename the app")
            }
            for other in seen {
                if other.name == volume.name && other.shared == volume.shared {
                    throw BatonError(.invalidArgument, "volume \(volume.name) is given twice")
                }
                if SandboxPath.overlap(other.path, volume.path) {
                    throw BatonError(.invalidArgument, "volume paths '\(other.path)' and '\(volume.path)' overlap: give each volume a path of its own")
                }
            }
            seen.append(volume)
        }
    }
}

/// How a deploy replaces an app's sandbox.
public enum DeployStrategy: String, Codable, Sendable, CaseIterable {
    /// Start the new sandbox, wait until healthy, flip, drain and stop the old one.
    case blueGreen = "blue-green"
    /// Hold new requests, drain and stop the old sandbox, start the new one, flip, release:
    /// for apps that must never run twice at once (one writer of a SQLite file on a volume).
    case stopFirst = "stop-first"
}

/// One volume as `baton volume ls` lists it.
public struct VolumeInfo: Codable, Sendable, Equatable {
    /// The app the volume belongs to, or `shared`.
    public var app: String
    public var name: String
    /// Its directory on the host.
    public var path: String
    /// The bytes of its files.
    public var size: Int64
    /// A running sandbox binds it.
    public var inUse: Bool

    public init(app: String, name: String, path: String, size: Int64, inUse: Bool) {
        self.app = app
        self.name = name
        self.path = path
        self.size = size
        self.inUse = inUse
    }
}

extension AppValidation {
    /// Volumes and the deploy strategy are a sandbox app's: an upstream app runs outside Baton.
    static func validateVolumesAndStrategy(_ spec: AppSpec) throws(BatonError) {
        if spec.upstream != nil && (!spec.volumes.isEmpty || spec.strategy == .stopFirst) {
            throw BatonError(.invalidArgument, "--upstream apps run outside Baton: --volume and --strategy stop-first do not apply")
        }
        try AppVolume.validate(spec.volumes, app: spec.name)
        if let hold = spec.holdTimeout, !(hold > 0 && hold <= 3600) {
            throw BatonError(.invalidArgument, "invalid --hold-timeout \(hold): use seconds above 0, at most 3600")
        }
    }
}
