import BatonOS
import BatonStore
import Foundation

/// A user name and password for one registry.
public struct RegistryCredential: Sendable, Equatable {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }
}

/// Where credentials come from: `$BATON_ROOT/auth.json` (written by `baton login`, 0600), then
/// Docker's `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`. Both use Docker's shape,
/// `{"auths": {"HOST": {"auth": base64("user:password")}}}`, so either tool's file works.
public struct RegistryCredentials: Sendable {
    public let root: String
    public var dockerConfigPaths: [String]

    public init(root: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.root = root
        var paths: [String] = []
        if let dir = environment["DOCKER_CONFIG"], !dir.isEmpty { paths.append(dir + "/config.json") }
        if let home = environment["HOME"], !home.isEmpty { paths.append(home + "/.docker/config.json") }
        dockerConfigPaths = paths
    }

    public var authFile: String { root + "/auth.json" }

    /// The credential for `host`, or nil for anonymous access.
    public func lookup(_ host: String) throws -> RegistryCredential? {
        for path in [authFile] + dockerConfigPaths {
            guard let file = try Self.load(path) else { continue }
            for (key, entry) in file.auths where Self.hostOf(key) == host {
                if let credential = try Self.decode(entry, host: host, path: path) { return credential }
            }
        }
        return nil
    }

    /// Stores `credential` for `host` in the root's auth.json (0600, atomically replaced).
    public func save(_ credential: RegistryCredential, for host: String) throws {
        try StateRoot.prepare(root)
        var file = try Self.load(authFile) ?? AuthFile(auths: [:])
        let pair = Array("\(credential.username):\(credential.password)".utf8)
        file.auths[host] = AuthFile.Entry(auth: Data(pair).base64EncodedString())
        try write(file)
    }

    /// Removes `host` from the root's auth.json. Returns false when it was not there.
    @discardableResult
    public func remove(_ host: String) throws -> Bool {
        guard var file = try Self.load(authFile) else { return false }
        let keys = file.auths.keys.filter { Self.hostOf($0) == host }
        guard !keys.isEmpty else { return false }
        for key in keys { file.auths.removeValue(forKey: key) }
        try write(file)
        return true
    }

    private func write(_ file: AuthFile) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try PrivateFile.write(Array(try encoder.encode(file)) + [0x0a], to: authFile)
    }

    struct AuthFile: Codable {
        struct Entry: Codable {
            var auth: String?
            var username: String?
            var password: String?
        }
        var auths: [String: Entry]

        init(auths: [String: Entry]) { self.auths = auths }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            auths = try container.decodeIfPresent([String: Entry].self, forKey: .auths) ?? [:]
        }
    }

    private static func load(_ path: String) throws -> AuthFile? {
        guard let bytes = try PrivateFile.read(path) else { return nil }
        do {
            return try JSONDecoder().decode(AuthFile.self, from: Data(bytes))
        } catch {
            throw BatonError(.corrupt, "credentials file \(path) is not valid JSON of Docker's shape {\"auths\": {HOST: {\"auth\": BASE64}}}")
        }
    }

    private static func decode(_ entry: AuthFile.Entry, host: String, path: String) throws -> RegistryCredential? {
        if let username = entry.username, let password = entry.password {
            return RegistryCredential(username: username, password: password)
        }
        guard let auth = entry.auth, !auth.isEmpty else { return nil }
        guard let data = Data(base64Encoded: auth), let text = String(data: data, encoding: .utf8),
            let colon = text.firstIndex(of: ":")
        else {
            throw BatonError(.corrupt, "credentials for \(host) in \(path) are not base64 of USER:PASSWORD")
        }
        return RegistryCredential(username: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
    }

    /// `https://host:5000/v1/` and `host:5000` both name `host:5000`.
    static func hostOf(_ key: String) -> String {
        var text = Substring(key.lowercased())
        for scheme in ["https://", "http://"] where text.hasPrefix(scheme) { text = text.dropFirst(scheme.count) }
        if let slash = text.firstIndex(of: "/") { text = text[..<slash] }
        return String(text)
    }
}
