import BatonOS

/// An artifact reference as users write it: `NAME:VERSION`, `NAME@sha256:<hex>` or `sha256:<hex>`.
public enum Reference: Hashable, Sendable, CustomStringConvertible {
    case tagged(name: String, version: String)
    case pinned(name: String, digest: Digest)
    case digest(Digest)

    /// Parses `text`, throwing an `invalidArgument` error that shows the accepted forms.
    public init(parsing text: String) throws {
        let usage = "use NAME:VERSION, NAME@sha256:<64 hex> or sha256:<64 hex>"
        if text.hasPrefix("sha256:") {
            guard let digest = Digest(text) else { throw BatonError(.invalidArgument, "invalid digest '\(text)': \(usage)") }
            self = .digest(digest)
            return
        }
        if let at = text.firstIndex(of: "@") {
            let name = String(text[..<at])
            let digestText = String(text[text.index(after: at)...])
            guard Reference.isValidName(name), let digest = Digest(digestText) else {
                throw BatonError(.invalidArgument, "invalid reference '\(text)': \(usage)")
            }
            self = .pinned(name: name, digest: digest)
            return
        }
        guard let colon = text.lastIndex(of: ":") else {
            throw BatonError(.invalidArgument, "invalid reference '\(text)': missing ':VERSION'; \(usage)")
        }
        let name = String(text[..<colon])
        let version = String(text[text.index(after: colon)...])
        guard Reference.isValidName(name), Reference.isValidVersion(version) else {
            throw BatonError(.invalidArgument,
                "invalid reference '\(text)': NAME is lowercase letters, digits and . _ - /; VERSION is letters, digits and . _ - (at most 128)")
        }
        self = .tagged(name: name, version: version)
    }

    /// Parses a `NAME:VERSION` that a command is about to bind (publish, import --name).
    public static func parseTag(_ text: String) throws -> (name: String, version: String) {
        guard case .tagged(let name, let version) = try Reference(parsing: text) else {
            throw BatonError(.invalidArgument, "'\(text)' must be NAME:VERSION, not a digest")
        }
        return (name, version)
    }

    public var description: String {
        switch self {
        case .tagged(let name, let version): return "\(name):\(version)"
        case .pinned(let name, let digest): return "\(name)@\(digest)"
        case .digest(let digest): return digest.description
        }
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 255 else { return false }
        let isAlnum: (UInt8) -> Bool = { (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) }
        guard isAlnum(first), let last = name.utf8.last, isAlnum(last) else { return false }
        return name.utf8.allSatisfy { isAlnum($0) || $0 == 0x2e || $0 == 0x5f || $0 == 0x2d || $0 == 0x2f }
            && !name.contains("//") && !name.contains("..")
    }

    static func isValidVersion(_ version: String) -> Bool {
        guard let first = version.utf8.first, version.utf8.count <= 128, first != 0x2e, first != 0x2d else { return false }
        return version.utf8.allSatisfy {
            (0x61...0x7a).contains($0) || (0x41...0x5a).contains($0) || (0x30...0x39).contains($0)
                || $0 == 0x2e || $0 == 0x5f || $0 == 0x2d
        }
    }
}
