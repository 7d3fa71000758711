import BatonOS
import BatonSandbox
import FoundationEssentials
import Glibc

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

/// `HOSTDIR:/path`, `HOSTDIR:/path:ro` or `HOSTDIR:/path:rw`: a host directory for `run --volume`.
enum VolumeSpec {
    static func parse(_ text: String) -> SandboxSpec.Bind? {
        var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var readOnly = false
        if parts.count == 3 {
            guard parts[2] == "ro" || parts[2] == "rw" else { return nil }
            readOnly = parts[2] == "ro"
            parts.removeLast()
        }
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return SandboxSpec.Bind(source: parts[0], target: parts[1], readOnly: readOnly)
    }

    /// Why the host side is refused, or nil: it must be an absolute path to a directory with
    /// no symbolic link on the way (the sandbox gets exactly the directory named).
    static func hostProblem(_ path: String) -> String? {
        guard path.hasPrefix("/") else { return "must be an absolute path" }
        var walked = ""
        for part in path.split(separator: "/") {
            guard part != ".", part != ".." else { return "must not contain '.' or '..'" }
            walked += "/" + part
            var info = stat()
            guard lstat(walked, &info) == 0 else { return "does not exist" }
            if (info.st_mode & S_IFMT) == S_IFLNK { return "passes through the symbolic link \(walked)" }
        }
        return PathName.isDirectory(path) ? nil : "is not a directory"
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
