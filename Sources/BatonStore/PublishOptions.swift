import BatonOS

/// What `publish` puts around the directory's layer.
public struct PublishOptions: Sendable {
    public enum Base: Sendable, Equatable {
        case none
        /// Stack on this artifact's layers (a REF); its config is inherited, then overridden.
        case artifact(String)
        /// The host's /usr, /bin, /sbin, /lib* read-only beneath, with a minimal /etc.
        case host
    }

    public var base: Base = .none
    /// Where the directory lands in the artifact's file system.
    public var dest: String = "/"
    public var cmd: [String]?
    public var workingDir: String?
    /// `KEY=VALUE`; replaces the base's value of the same key.
    public var env: [String] = []
    public var ports: [Int] = []
    public var healthPath: String?

    public init() {}

    /// Checks the options a user typed, before anything is read or written.
    func validate() throws {
        guard dest.hasPrefix("/"), !dest.split(separator: "/").contains("..") else {
            throw BatonError(.invalidArgument, "--dest '\(dest)' must be an absolute path without '..'")
        }
        if let workingDir, !workingDir.hasPrefix("/") {
            throw BatonError(.invalidArgument, "--workdir '\(workingDir)' must be an absolute path")
        }
        for entry in env where !entry.contains("=") || entry.hasPrefix("=") {
            throw BatonError(.invalidArgument, "--env '\(entry)' must be KEY=VALUE")
        }
        for port in ports where !(1...65535).contains(port) {
            throw BatonError(.invalidArgument, "--port \(port) must be between 1 and 65535")
        }
        if let healthPath, !healthPath.hasPrefix("/") {
            throw BatonError(.invalidArgument, "--health-path '\(healthPath)' must start with '/'")
        }
        if let cmd, cmd.isEmpty {
            throw BatonError(.invalidArgument, "--cmd must name a program")
        }
    }

    var destComponents: [String] {
        dest.split(separator: "/").filter { $0 != "." }.map(String.init)
    }
}

/// What a publish or import did.
public struct PublishResult: Sendable {
    public let name: String
    /// The manifest digest, `sha256:<hex>`.
    public let digest: String
    /// Bytes of new blobs written to the store (0 when republishing the same bytes).
    public let bytesAdded: Int64
    /// Bytes of the artifact's own new layer (publish) or of all its layers (import).
    public let layerSize: Int64
}
