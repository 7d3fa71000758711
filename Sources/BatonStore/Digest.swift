import BatonOS
import Crypto

/// A content digest, `sha256:<64 lowercase hex>`: the only algorithm the store accepts.
public struct Digest: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    /// The 64 lowercase hex characters.
    public let hex: String

    /// Parses `sha256:<hex>`; anything else is `nil`.
    public init?(_ text: String) {
        guard text.hasPrefix("sha256:") else { return nil }
        let hex = String(text.dropFirst("sha256:".count))
        guard Digest.isHex64(hex) else { return nil }
        self.hex = hex
    }

    init(hex: String) {
        self.hex = hex
    }

    init(_ digest: SHA256.Digest) {
        self.hex = digest.map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
    }

    /// The digest of `bytes`.
    public static func of(_ bytes: [UInt8]) -> Digest {
        Digest(SHA256.hash(data: bytes))
    }

    public var description: String { "sha256:" + hex }

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.hex < rhs.hex }

    static func isHex64(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = Digest(text) else {
            throw BatonError(.corrupt, "unsupported digest '\(text)' (only sha256:<64 hex> is accepted)")
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
