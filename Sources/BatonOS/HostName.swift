/// Host-name rules shared by the proxy (matching a request's Host) and the daemon (validating
/// `--host`).
public enum HostName {
    /// The host part of a Host header, lower-cased, without port or trailing dot; nil if the
    /// header is not a plausible host (empty, bad characters, bad port).
    public static func normalize(_ value: String) -> String? {
        var utf8 = value.utf8[...]
        if utf8.isEmpty || utf8.count > 260 { return nil }
        var host: Substring.UTF8View
        if utf8.first == UInt8(ascii: "[") {
            // IPv6 literal: [addr] or [addr]:port
            guard let close = utf8.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            host = utf8[utf8.startIndex...close]
            utf8 = utf8[utf8.index(after: close)...]
            if !utf8.isEmpty {
                guard utf8.first == UInt8(ascii: ":"), isPort(utf8.dropFirst()) else { return nil }
            }
            for byte in host.dropFirst().dropLast() where !(isHex(byte) || byte == UInt8(ascii: ":") || byte == UInt8(ascii: ".")) {
                return nil
            }
            return String(Substring(host)).lowercased()
        }
        if let colon = utf8.firstIndex(of: UInt8(ascii: ":")) {
            guard isPort(utf8[utf8.index(after: colon)...]) else { return nil }
            host = utf8[..<colon]
        } else {
            host = utf8
        }
        if host.last == UInt8(ascii: ".") { host = host.dropLast() }
        if host.isEmpty { return nil }
        var needsLowering = false
        for byte in host {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"):
                continue
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                needsLowering = true
            default:
                return nil
            }
        }
        let text = String(Substring(host))
        return needsLowering ? text.lowercased() : text
    }

    /// Whether `pattern` may be configured as an app host: a DNS name (labels of letters, digits
    /// and hyphens), optionally starting with `*.` for every subdomain of the rest.
    public static func isValidPattern(_ pattern: String) -> Bool {
        var name = Substring(pattern)
        if name.hasPrefix("*.") { name = name.dropFirst(2) }
        if name.isEmpty || name.count > 253 { return false }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        for label in labels {
            if label.isEmpty || label.count > 63 || label.first == "-" || label.last == "-" { return false }
            for byte in label.utf8 {
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"):
                    continue
                default:
                    return false
                }
            }
        }
        return true
    }

    private static func isPort(_ digits: Substring.UTF8View) -> Bool {
        if digits.isEmpty || digits.count > 5 { return false }
        return digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    private static func isHex(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"), UInt8(ascii: "A")...UInt8(ascii: "F"):
            return true
        default:
            return false
        }
    }
}
