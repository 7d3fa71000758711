import BatonOS

/// Checks an `AppSpec` before anything is stored: a user mistake is one clear message.
public enum AppValidation {
    /// The longest app name: each sandbox of an app is named `NAME-xxxxxxxx` (eight hex
    /// digits), and a sandbox name is at most 64 bytes, so every valid app can deploy.
    public static let maxNameLength = 64 - 9

    /// What a valid app (or preview) name is, for error messages.
    public static let nameRule = "use 1-\(maxNameLength) lower-case letters, digits and '-', starting with a letter or digit"

    public static func validate(_ spec: AppSpec) throws(BatonError) -> AppSpec {
        var spec = spec
        guard isValidName(spec.name) else {
            throw BatonError(.invalidArgument, "invalid app name '\(spec.name)': \(nameRule)")
        }
        guard !spec.hosts.isEmpty else {
            throw BatonError(.invalidArgument, "app \(spec.name) needs at least one --host")
        }
        var seen = Set<String>()
        spec.hosts = try spec.hosts.map { (host: String) throws(BatonError) -> String in
            let lowered = host.lowercased()
            guard HostName.isValidPattern(lowered) else {
                throw BatonError(.invalidArgument, "invalid host '\(host)': use a DNS name such as app.example.com or *.preview.example.com")
            }
            guard seen.insert(lowered).inserted else {
                throw BatonError(.invalidArgument, "host '\(host)' is given twice")
            }
            return lowered
        }
        if let upstream = spec.upstream {
            guard parseAddress(upstream) != nil else {
                throw BatonError(.invalidArgument, "invalid --upstream '\(upstream)': use ADDR:PORT, e.g. 127.0.0.1:3000")
            }
        }
        // Port, health, limits, environment and secrets: the same checks as `app set`.
        _ = try AppConfig(spec).validated()
        try validateVolumesAndStrategy(spec)
        try validateReplicas(spec)
        try validateNetwork(spec)
        if let error = spec.drainLongTimeoutError { throw error }
        try validateSmoke(&spec)
        try validateBakeSettings(spec)
        return spec
    }

    /// `--network egress|none` and `--egress-allow CIDR[:PORT]`, for sandbox apps only.
    static func validateNetwork(_ spec: AppSpec) throws(BatonError) {
        let allow = spec.egressAllow ?? []
        if spec.upstream != nil && (spec.network != nil || !allow.isEmpty) {
            throw BatonError(.invalidArgument, "--upstream apps run outside Baton: --network and --egress-allow do not apply")
        }
        if let mode = spec.network, mode != "egress" && mode != "none" {
            throw BatonError(.invalidArgument, "invalid --network '\(mode)': use egress or none")
        }
        if spec.network == "none" && !allow.isEmpty {
            throw BatonError(.invalidArgument, "--egress-allow needs --network egress: an app with --network none reaches nothing")
        }
        for entry in allow where EgressRule(parsing: entry) == nil {
            throw BatonError(.invalidArgument, "invalid --egress-allow '\(entry)': use CIDR or CIDR:PORT, e.g. 10.0.0.0/8 or 192.0.2.10:5432")
        }
    }

    public static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...maxNameLength).contains(bytes.count) else { return false }
        for (index, byte) in bytes.enumerated() {
            let alnum = (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            if !(alnum || (index > 0 && byte == UInt8(ascii: "-"))) { return false }
        }
        return true
    }

    /// `host:port` or `[v6]:port`: where an upstream app's proxy target is.
    public static func parseAddress(_ text: String) -> (host: String, port: Int)? {
        var host: Substring
        var portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") { return nil }
        }
        guard !host.isEmpty, host.allSatisfy({ !$0.isWhitespace && $0 != "/" }),
            let port = Int(portText), (1...65535).contains(port)
        else { return nil }
        return (String(host), port)
    }
}

extension AppSpec {
    /// Upstream when it names an upstream address, else sandbox.
    public var kind: AppInfo.Kind { upstream == nil ? .sandbox : .upstream }

    /// What the daemon stores when a spec leaves these out.
    public static let defaultHealthStatus = 200
    public static let defaultHealthTimeout = 30.0
    public static let defaultDrainTimeout = 30.0
    public static let defaultHoldTimeout = 30.0

    /// The spec as the daemon would store it (host names lower-cased), or the error
    /// `app create` would give: lets a client check a whole batch before changing anything.
    public func validated() throws(BatonError) -> AppSpec {
        try AppValidation.validate(self)
    }
}
