import BatonOS

/// How a smoke check's outcome is told: green's answer is artifact-controlled, so what is
/// quoted from it is cut short and escaped (every byte outside printable ASCII as `\xNN`), and
/// can neither flood a message nor move a terminal's cursor.
enum SmokeReport {
    /// How many bytes of a response body a failure quotes.
    static let quotedBytes = 200

    /// `bytes` as a double-quoted, escaped string of at most `limit` source bytes.
    static func quoted(_ bytes: [UInt8], limit: Int = quotedBytes) -> String {
        var out = "\""
        for byte in bytes.prefix(limit) {
            switch byte {
            case UInt8(ascii: "\""): out += "\\\""
            case UInt8(ascii: "\\"): out += "\\\\"
            case 0x20..<0x7f: out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16)
                out += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out + (bytes.count > limit ? "\"…" : "\"")
    }

    /// Why `check` failed on `response`, or nil when it passed.
    static func mismatch(_ check: SmokeCheck, _ response: SmokeExchange.Response) -> String? {
        if response.status != check.status {
            return "answered \(response.status), expected \(check.status); body \(quoted(response.body))"
        }
        if let text = check.contains, !contains(response.body, Array(text.utf8)) {
            let scope = response.body.count >= SmokeExchange.maxBody ? "the first \(SmokeExchange.maxBody) bytes of " : ""
            return "answered \(response.status) but \(scope)its body lacks \(quoted(Array(text.utf8))); body \(quoted(response.body))"
        }
        return nil
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty else { return true }
        guard haystack.count >= needle.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<start + needle.count].elementsEqual(needle) { return true }
        }
        return false
    }
}
