import BatonOS

/// What a generator writes must be a valid Kubernetes name or an environment name wherever the
/// input lands in one: Baton's own rules are narrower, but an apply file or a future caller is
/// checked here too, before anything is written.
extension ExportApp {
    public func validated() throws(BatonError) -> ExportApp {
        guard Self.isLabel(name, maxLength: 55) else {
            throw BatonError(.invalidArgument, "app name '\(name)' is not a Kubernetes name: use lower-case letters, digits and '-'")
        }
        guard (1...65535).contains(port) else { throw BatonError(.invalidArgument, "app \(name): invalid port \(port)") }
        guard replicas >= 0 else { throw BatonError(.invalidArgument, "app \(name): invalid replicas \(replicas)") }
        for host in hosts where !Self.isHostPattern(host) {
            throw BatonError(.invalidArgument, "app \(name): host '\(host)' is not a DNS name Kubernetes accepts")
        }
        for entry in env {
            guard let key = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first, Self.isVariableName(String(key)) else {
                throw BatonError(.invalidArgument, "app \(name): invalid environment entry (use KEY=VALUE with a C identifier)")
            }
        }
        for secret in secretNames where !Self.isVariableName(secret) {
            throw BatonError(.invalidArgument, "app \(name): invalid secret name (use a C identifier)")
        }
        for volume in volumes {
            guard Self.isLabel(volume.name, maxLength: 55) else {
                throw BatonError(.invalidArgument, "app \(name): volume name '\(volume.name)' is not a Kubernetes name")
            }
            guard volume.path.hasPrefix("/"), !volume.path.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }) else {
                throw BatonError(.invalidArgument, "app \(name): volume \(volume.name) has no absolute path")
            }
        }
        guard health.path.hasPrefix("/"), !health.path.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7f }) else {
            throw BatonError(.invalidArgument, "app \(name): the health path must be an absolute URL path without spaces")
        }
        for rule in egressAllow {
            let cidr = rule.cidr.split(separator: "/", omittingEmptySubsequences: false)
            guard cidr.count == 2, cidr.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: ".") } }),
                  rule.port.map({ (1...65535).contains($0) }) ?? true else {
                throw BatonError(.invalidArgument, "app \(name): invalid egress destination '\(rule.cidr)'")
            }
        }
        guard Digest.isValid(image.digest) else { throw BatonError(.invalidArgument, "app \(name): invalid image digest '\(image.digest)'") }
        guard Self.isRepository(image.repository) else {
            throw BatonError(.invalidArgument, "app \(name): invalid image repository '\(image.repository)'")
        }
        return self
    }

    /// A namespace, a DNS label.
    public static func isNamespace(_ text: String) -> Bool { isLabel(text, maxLength: 63) }

    /// Lower-case letters, digits and '-', not at either end.
    static func isLabel(_ text: String, maxLength: Int) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...maxLength).contains(bytes.count), bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-") else { return false }
        return bytes.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "-") }
    }

    /// `a.example.com` or `*.example.com`: labels of letters, digits and '-'.
    static func isHostPattern(_ host: String) -> Bool {
        var labels = host.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if labels.first == "*" { labels.removeFirst() }
        guard !labels.isEmpty, host.utf8.count <= 253 else { return false }
        return labels.allSatisfy { isLabel($0, maxLength: 63) }
    }

    static func isVariableName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, !(first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) else { return false }
        return bytes.allSatisfy { isLowerAlnum($0 | 0x20) || $0 == UInt8(ascii: "_") }
    }

    /// `HOST[:PORT]/PATH` of lower-case letters, digits and `._-/:`: what an image reference allows.
    static func isRepository(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 255, !text.hasPrefix("/"), !text.hasSuffix("/") else { return false }
        return text.utf8.allSatisfy { isLowerAlnum($0) || "._-/:".utf8.contains($0) }
    }

    private static func isLowerAlnum(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }
}

/// `sha256:` and 64 lower-case hex digits.
enum Digest {
    static func isValid(_ text: String) -> Bool {
        guard text.hasPrefix("sha256:") else { return false }
        let hex = text.utf8.dropFirst(7)
        return hex.count == 64 && hex.allSatisfy { ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) }
    }
}
