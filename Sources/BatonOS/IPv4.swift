/// An IPv4 address as a number (host order), and the networks Baton hands out and filters.
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let value: UInt32

    public init(_ value: UInt32) { self.value = value }

    /// "10.88.0.1"; nil unless exactly four decimal octets.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard (1...3).contains(part.count), part.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                  let octet = UInt32(part), octet <= 255, part.count == 1 || part.first != "0" else { return nil }
            value = value << 8 | octet
        }
        self.value = value
    }

    /// For C: the address in network byte order as it lies in memory.
    public var networkOrder: UInt32 { value.bigEndian }

    public var description: String {
        "\(value >> 24).\(value >> 16 & 0xff).\(value >> 8 & 0xff).\(value & 0xff)"
    }

    public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.value < b.value }
}

/// `10.88.0.0/24`: a network address and prefix length.
public struct IPv4Network: Hashable, Sendable, CustomStringConvertible {
    public let address: IPv4Address
    public let prefix: Int

    /// "10.88.0.0/24", or an address alone as /32. The host bits must be zero.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let address = IPv4Address(parts[0]) else { return nil }
        var prefix = 32
        if parts.count == 2 {
            guard let length = Int(parts[1]), (0...32).contains(length), parts[1].first != "+" else { return nil }
            prefix = length
        }
        guard address.value & ~Self.mask(prefix) == 0 else { return nil }
        self.address = address
        self.prefix = prefix
    }

    public init(address: IPv4Address, prefix: Int) {
        self.address = IPv4Address(address.value & Self.mask(prefix))
        self.prefix = prefix
    }

    public static func mask(_ prefix: Int) -> UInt32 { prefix == 0 ? 0 : UInt32.max << UInt32(32 - prefix) }

    public var mask: UInt32 { Self.mask(prefix) }
    public var size: UInt64 { UInt64(1) << UInt64(32 - prefix) }
    public var last: IPv4Address { IPv4Address(address.value | ~mask) }

    public func contains(_ other: IPv4Address) -> Bool { other.value & mask == address.value }

    public func overlaps(_ other: IPv4Network) -> Bool {
        let shorter = min(prefix, other.prefix)
        return address.value & Self.mask(shorter) == other.address.value & Self.mask(shorter)
    }

    public var description: String { "\(address)/\(prefix)" }
}
