import BatonOS
import FoundationEssentials

/// Checks a spec before anything is created, so bad input changes nothing.
enum SpecValidation {
    static func validate(_ spec: SandboxSpec, userNamespace: UserNamespaceMapping) throws {
        guard isValidID(spec.id) else {
            throw BatonError(.invalidArgument, "invalid sandbox name '\(spec.id)': use 1-64 of a-z, 0-9, '-', '_', '.', starting with a letter or digit")
        }
        guard let program = spec.argv.first, !program.isEmpty else {
            throw BatonError(.invalidArgument, "no program to run: give one after '--'")
        }
        try refuseNUL(argv: spec.argv, environment: spec.environment + spec.secretEnvironment, workdir: spec.workdir)
        switch spec.root {
        case .directory(let path):
            guard PathName.isDirectory(path) else {
                throw BatonError(.notFound, "root directory '\(path)' does not exist or is not a directory")
            }
        case .layers(let paths):
            guard !paths.isEmpty else { throw BatonError(.invalidArgument, "an artifact root needs at least one layer") }
        }
        try validateOwnLayer(spec)
        if let layer = spec.writableLayer {
            // ':' and ',' separate overlay options; both dirs are Baton's own, under the root.
            for path in [layer.upper, layer.work] where !path.hasPrefix("/") || path.contains(":") || path.contains(",") {
                throw BatonError(.invalidArgument, "writable layer directory '\(path)' must be an absolute path without ':' or ','")
            }
        }
        for path in spec.hostBinds where !HostDirectories.bindable.contains(path) {
            throw BatonError(.invalidArgument, "host bind '\(path)' refused: only \(HostDirectories.bindable.sorted().joinedPlain(separator: ", ")) are ever bound")
        }
        guard spec.workdir.hasPrefix("/") else {
            throw BatonError(.invalidArgument, "working directory '\(spec.workdir)' must be an absolute path inside the root")
        }
        if let hostname = spec.hostname, !isValidHostname(hostname) {
            throw BatonError(.invalidArgument, "invalid hostname '\(hostname)': 1-63 of letters, digits and '-' per label, 253 at most")
        }
        for entry in spec.environment where !entry.contains("=") || entry.hasPrefix("=") {
            throw BatonError(.invalidArgument, "invalid environment entry '\(entry)': use KEY=VALUE")
        }
        for entry in spec.secretEnvironment where !entry.contains("=") || entry.hasPrefix("=") {
            // The entry may be all value: never repeated.
            throw BatonError(.invalidArgument, "invalid secret environment entry: use KEY=VALUE")
        }
        if let memory = spec.memoryLimit, memory < 1 << 20 {
            throw BatonError(.invalidArgument, "memory limit \(memory) is below 1 MiB")
        }
        if let pids = spec.pidsLimit, pids < 1 {
            throw BatonError(.invalidArgument, "pids limit must be at least 1")
        }
        if let cpus = spec.cpus, !(cpus > 0 && cpus <= 1024) {
            throw BatonError(.invalidArgument, "cpus must be a number above 0, e.g. 0.5")
        }
        if spec.userNamespace, let user = spec.user, user.uid >= userNamespace.count || user.gid >= userNamespace.count {
            throw BatonError(.invalidArgument, "with --userns, --user ids must be below \(userNamespace.count)")
        }
    }

    /// A C string ends at its first NUL: "a\0b" would reach the program as "a", silently
    /// something else than asked for. Refused instead.
    static func refuseNUL(argv: [String], environment: [String], workdir: String) throws {
        for (index, argument) in argv.enumerated() where argument.utf8.contains(0) {
            throw BatonError(.invalidArgument, "argument \(index) of the program contains a NUL byte, which no program can receive")
        }
        for entry in environment where entry.utf8.contains(0) {
            let key = entry.split(separator: "=", maxSplits: 1).first.map(String.init) ?? entry
            throw BatonError(.invalidArgument, "environment variable '\(key.split(separator: "\0").first ?? "")' contains a NUL byte, which no program can receive")
        }
        if workdir.utf8.contains(0) {
            throw BatonError(.invalidArgument, "the working directory contains a NUL byte")
        }
    }

    /// Bind targets and Baton's files: absolute, spelled plainly (no `.`, `..` or empty
    /// parts), never `/` or one of the mount plan's own paths or a host directory's, and not
    /// nested in one another. Bind sources: absolute directories, checked again by the child,
    /// which opens them refusing any symlink on the way.
    static func validateOwnLayer(_ spec: SandboxSpec) throws {
        let special = SandboxPath.reserved + spec.hostBinds
        func check(_ path: String, _ what: String) throws {
            if let problem = SandboxPath.problem(path, what, taken: special) { throw BatonError(.invalidArgument, problem) }
        }
        var targets: [String] = []
        for bind in spec.binds {
            try check(bind.target, "mount path")
            guard bind.source.hasPrefix("/"), !bind.source.split(separator: "/").contains(".."), !bind.source.utf8.contains(0) else {
                throw BatonError(.invalidArgument, "host directory '\(bind.source)' must be an absolute path without '..'")
            }
            guard PathName.isDirectory(bind.source) else {
                throw BatonError(.notFound, "host directory '\(bind.source)' does not exist or is not a directory")
            }
            for other in targets where SandboxPath.overlap(other, bind.target) {
                throw BatonError(.invalidArgument, "mount paths '\(other)' and '\(bind.target)' overlap")
            }
            targets.append(bind.target)
        }
        for file in spec.files {
            try check(file.path, "file")
            for target in targets where file.path.hasPrefix(target + "/") {
                throw BatonError(.invalidArgument, "file '\(file.path)' lies under mount path '\(target)'")
            }
        }
        if spec.binds.count + spec.hostBinds.count > 64 {
            throw BatonError(.invalidArgument, "at most 64 directories can be bound into a sandbox")
        }
    }

    static func isValidID(_ id: String) -> Bool {
        guard (1...64).contains(id.utf8.count), let first = id.utf8.first, isAlnum(first) else { return false }
        return id.utf8.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }

    static func isValidHostname(_ name: String) -> Bool {
        guard (1...253).contains(name.utf8.count) else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            (1...63).contains(label.utf8.count) && label.utf8.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") }
        }
    }

    /// PATH from the program's environment, for finding argv[0] inside the root.
    static func searchPath(in environment: [String]) -> String {
        for entry in environment.reversed() where entry.hasPrefix("PATH=") {
            return String(entry.dropFirst(5))
        }
        return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    }

    private static func isAlnum(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x41 && byte <= 0x5a)
    }
}
