import BatonOS

/// The names certificates are stored and matched under: an exact host (`a.example.com`) or a
/// wildcard (`*.example.com`). As browsers do (RFC 6125 §6.4.3), a wildcard stands for exactly
/// one whole left-most label: `*.example.com` covers `a.example.com`, not `example.com` nor
/// `a.b.example.com`; partial wildcards (`a*.example.com`) cover nothing.
public enum CertificateName {
    /// `host` lower-cased without a trailing dot, when it is a DNS name or `*.` and one (the
    /// only names a file in the store may be named after); nil otherwise.
    public static func normalize(_ host: String) -> String? {
        var name = host.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        return HostName.isValidPattern(name) ? name : nil
    }

    public static func isWildcard(_ name: String) -> Bool { name.hasPrefix("*.") }

    /// The wildcard one label up (`*.example.com` for `a.example.com`), or nil for a name of
    /// one label or a wildcard.
    public static func wildcard(above name: String) -> String? {
        guard !isWildcard(name), let dot = name.firstIndex(of: "."), dot != name.startIndex,
            name.index(after: dot) != name.endIndex
        else { return nil }
        return "*" + name[dot...]
    }

    /// Whether a certificate naming `certificateName` (one of its subjectAltName DNS names)
    /// serves `host`, an exact name or a wildcard.
    public static func covers(_ certificateName: String, _ host: String) -> Bool {
        var certified = certificateName.lowercased()
        if certified.hasSuffix(".") { certified.removeLast() }
        if certified == host { return true }
        return isWildcard(certified) && wildcard(above: host) == certified
    }
}
