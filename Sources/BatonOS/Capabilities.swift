import CShims

/// Linux capabilities by name, through libcap.
public enum Capabilities {
    /// The number for "NET_BIND_SERVICE" or "cap_net_bind_service"; nil if unknown.
    public static func number(named name: String) -> Int? {
        let value = bt_cap_from_name(name)
        return value < 0 ? nil : Int(value)
    }

    /// The highest capability number the running kernel knows.
    public static var lastCapability: Int { Int(bt_cap_last_cap()) }

    /// A bit set of the named capabilities, or the first unknown name.
    public static func mask(_ names: [String]) -> Result<UInt64, UnknownCapability> {
        var mask: UInt64 = 0
        for name in names {
            guard let number = number(named: name), number < 64 else { return .failure(UnknownCapability(name: name)) }
            mask |= 1 << UInt64(number)
        }
        return .success(mask)
    }

    public struct UnknownCapability: Error {
        public let name: String
    }
}
