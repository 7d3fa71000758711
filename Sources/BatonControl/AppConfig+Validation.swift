import BatonOS

/// Checks a configuration before anything is stored. No message ever repeats a secret's value.
extension AppConfig {
    /// The largest value of one variable or secret (a `--secret-file` too).
    public static let maxValueBytes = 64 << 10
    /// The largest environment and secrets together: well under what exec(2) takes and what one
    /// control request carries.
    public static let maxTotalBytes = 256 << 10

    /// Set by Baton in every app sandbox: the app's port, so the app listens where the proxy
    /// and the health checks connect (change it with `--port`), and who the sandbox is.
    public static let reservedNames: Set<String> = ["PORT"]
    public static let reservedPrefix = "BATON_"

    public func validated() throws(BatonError) -> AppConfig {
        if let port, !(1...65535).contains(port) {
            throw BatonError(.invalidArgument, "invalid --port \(port): use 1-65535")
        }
        if !(100...599).contains(healthStatus) {
            throw BatonError(.invalidArgument, "invalid --health-status \(healthStatus): use an HTTP status code")
        }
        if let healthPath, !healthPath.hasPrefix("/") {
            throw BatonError(.invalidArgument, "invalid --health-path '\(healthPath)': it must start with /")
        }
        for (value, flag) in [(healthTimeout, "--health-timeout"), (drainTimeout, "--drain-timeout")] where !(value > 0 && value <= 86400) {
            throw BatonError(.invalidArgument, "invalid \(flag) \(value): use seconds between 0 and 86400")
        }
        if let memory, memory < 1 << 20 {
            throw BatonError(.invalidArgument, "invalid --memory \(memory): use at least 1048576 bytes (1 MiB)")
        }
        if let pids, pids < 1 {
            throw BatonError(.invalidArgument, "invalid --pids \(pids): use at least 1")
        }
        if let cpus, !(cpus > 0 && cpus <= 1024) {
            throw BatonError(.invalidArgument, "invalid --cpus \(cpus): use a number of cores above 0, e.g. 0.5")
        }
        try Self.checkEntries(env, flag: "--env", showingValues: true)
        try Self.checkEntries(secrets, flag: "--secret", showingValues: false)
        let envNames = Set(self.envNames)
        if let both = secretNames.first(where: envNames.contains) {
            throw BatonError(.invalidArgument, "\(both) is both an environment variable and a secret: keep one")
        }
        let total = (env + secrets).reduce(0) { $0 + $1.utf8.count + 1 }
        if total > Self.maxTotalBytes {
            throw BatonError(.invalidArgument, "the environment and secrets take \(total) bytes: keep them under \(Self.maxTotalBytes)")
        }
        return self
    }

    /// Why `name` cannot be a variable's name, or nil.
    public static func nameProblem(_ name: String) -> String? {
        let bytes = Array(name.utf8)
        let valid = !bytes.isEmpty && bytes.count <= 255 && bytes.enumerated().allSatisfy { index, byte in
            let letter = (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
            let digit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            return letter || byte == UInt8(ascii: "_") || (index > 0 && digit)
        }
        guard valid else { return "use 1-255 letters, digits and '_', not starting with a digit" }
        if reservedNames.contains(name) { return "Baton sets it to the app's port: change the port with --port" }
        if name.hasPrefix(reservedPrefix) { return "names starting \(reservedPrefix) are Baton's own" }
        return nil
    }

    private static func checkEntries(_ entries: [String], flag: String, showingValues: Bool) throws(BatonError) {
        var seen = Set<String>()
        for entry in entries {
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else {
                // Without '=' the whole entry may be the value: never echo a secret's.
                throw BatonError(.invalidArgument, showingValues ? "invalid \(flag) '\(entry)': use KEY=VALUE"
                                                                  : "invalid \(flag): use KEY=VALUE (the value is not shown)")
            }
            let name = String(entry[..<equals])
            if let problem = nameProblem(name) {
                throw BatonError(.invalidArgument, "invalid \(flag) name '\(name)': \(problem)")
            }
            guard seen.insert(name).inserted else {
                throw BatonError(.invalidArgument, "\(flag) \(name) is given twice")
            }
            let value = entry.utf8[entry.utf8.index(after: equals)...]
            if value.contains(0) {
                throw BatonError(.invalidArgument, "\(flag) \(name) contains a NUL byte, which no program can receive")
            }
            if value.count > maxValueBytes {
                throw BatonError(.invalidArgument, "\(flag) \(name) is \(value.count) bytes: keep a value under \(maxValueBytes)")
            }
        }
    }
}
