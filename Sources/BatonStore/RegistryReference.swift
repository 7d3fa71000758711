import BatonOS

/// An image in an OCI registry as users write it: `REGISTRY/REPO[:TAG]` or `REGISTRY/REPO@sha256:…`.
/// As in Docker, the first path component is a registry host when it contains `.` or `:` or is
/// `localhost`; a reference without one is not a registry reference (it is a local
/// `NAME:VERSION`), so `team/app:1` never leaves the host by accident.
public struct RegistryReference: Hashable, Sendable, CustomStringConvertible {
    /// `host[:port]`, as written (lowercased).
    public let registry: String
    /// The repository path inside the registry, e.g. `team/app`.
    public let repository: String
    public let tag: String?
    public let digest: Digest?

    /// True when `text`'s first component names a registry host (Docker's rule).
    public static func looksLikeRegistry(_ text: String) -> Bool {
        guard let slash = text.firstIndex(of: "/") else { return false }
        let first = text[..<slash]
        return first.contains(".") || first.contains(":") || first == "localhost"
    }

    /// Parses `text`; `requireTag` is for a pull, which needs a tag or a digest.
    public init(parsing text: String) throws {
        let usage = "use REGISTRY/REPO[:TAG] or REGISTRY/REPO@sha256:<64 hex>, e.g. registry.example.com/team/app:1.0"
        guard text.utf8.count <= 1024, RegistryReference.looksLikeRegistry(text), let slash = text.firstIndex(of: "/") else {
            throw BatonError(.invalidArgument, "invalid registry reference '\(text)': \(usage) (the first part must be a host with a '.' or ':', or localhost)")
        }
        let host = String(text[..<slash]).lowercased()
        guard RegistryReference.isValidHost(host) else {
            throw BatonError(.invalidArgument, "invalid registry host '\(host)' in '\(text)': \(usage)")
        }
        var rest = String(text[text.index(after: slash)...])
        var digest: Digest?
        if let at = rest.firstIndex(of: "@") {
            let digestText = String(rest[rest.index(after: at)...])
            guard let parsed = Digest(digestText) else {
                throw BatonError(.invalidArgument, "invalid digest '\(digestText)' in '\(text)': only sha256:<64 lowercase hex> is accepted")
            }
            digest = parsed
            rest = String(rest[..<at])
        }
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            tag = String(rest[rest.index(after: colon)...])
            rest = String(rest[..<colon])
        }
        guard RegistryReference.isValidRepository(rest) else {
            throw BatonError(.invalidArgument,
                "invalid repository '\(rest)' in '\(text)': lowercase letters, digits and . _ - separated by '/'")
        }
        if let tag, !RegistryReference.isValidTag(tag) {
            throw BatonError(.invalidArgument,
                "invalid tag '\(tag)' in '\(text)': letters, digits, . _ - (at most 128, not starting with . or -)")
        }
        registry = host
        repository = rest
        self.tag = tag
        self.digest = digest
    }

    /// What to ask the registry's manifest endpoint for: the digest when pinned, else the tag
    /// (`latest` when neither is given, as Docker does).
    public var manifestReference: String { digest?.description ?? tag ?? "latest" }

    public var description: String {
        registry + "/" + repository + (tag.map { ":" + $0 } ?? "") + (digest.map { "@" + $0.description } ?? "")
    }

    /// The same image, pinned: `registry/repo[:tag]@digest`.
    public func pinned(to digest: Digest) -> String {
        registry + "/" + repository + (tag.map { ":" + $0 } ?? "") + "@" + digest.description
    }

    /// The local `NAME:VERSION` a pull binds when no `--as` is given: the repository path and
    /// the tag (`team/app:1.0`), or `sha256-<first 12 hex>` as the version of a pull by digest.
    public func defaultLocalName(resolved: Digest) -> String {
        let version = tag ?? "sha256-" + String(resolved.hex.prefix(12))
        return repository + ":" + version
    }

    static func isValidHost(_ host: String) -> Bool {
        var name = Substring(host)
        if let colon = host.lastIndex(of: ":") {
            let port = host[host.index(after: colon)...]
            guard let number = Int(port), (1...65535).contains(number), port.utf8.count <= 5 else { return false }
            name = host[..<colon]
        }
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        return name.utf8.allSatisfy { (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2e || $0 == 0x2d }
            && !name.hasPrefix(".") && !name.hasPrefix("-")
    }

    /// OCI distribution: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`,
    /// checked here per component (first and last character alphanumeric) and by Baton's own
    /// name rule, so the default local name is always valid.
    static func isValidRepository(_ repository: String) -> Bool {
        guard repository.utf8.count <= 255, Reference.isValidName(repository) else { return false }
        return repository.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { component in
            guard let first = component.utf8.first, let last = component.utf8.last else { return false }
            let isAlnum: (UInt8) -> Bool = { (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) }
            return isAlnum(first) && isAlnum(last)
        }
    }

    static func isValidTag(_ tag: String) -> Bool {
        Reference.isValidVersion(tag)
    }
}
