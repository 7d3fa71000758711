import FoundationEssentials

/// "268435456", "256m", "1g": bytes.
enum ByteCount {
    static func parse(_ text: String) -> UInt64? {
        let lowered = text.lowercased()
        let units: [(String, UInt64)] = [("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30), ("t", 1 << 40)]
        for (suffix, scale) in units {
            for spelled in [suffix + "ib", suffix + "b", suffix] where lowered.hasSuffix(spelled) {
                guard let value = UInt64(lowered.dropLast(spelled.count)) else { return nil }
                let (product, overflow) = value.multipliedReportingOverflow(by: scale)
                return overflow ? nil : product
            }
        }
        return UInt64(lowered.hasSuffix("b") ? String(lowered.dropLast()) : lowered)
    }
}

/// "1000" or "1000:1000".
enum UserSpec {
    static func parse(_ text: String) -> (uid: UInt32, gid: UInt32)? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let uid = UInt32(parts[0]) else { return nil }
        if parts.count == 1 { return (uid, uid) }
        guard let gid = UInt32(parts[1]) else { return nil }
        return (uid, gid)
    }
}

enum SandboxID {
    /// 12 hex digits: short enough to type, long enough not to collide on one host.
    static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = UInt64.random(in: 0..<(1 << 48), using: &generator)
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 12 - hex.count) + hex
    }
}
