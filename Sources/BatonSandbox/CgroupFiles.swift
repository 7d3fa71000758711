import BatonOS
import FoundationEssentials
import Glibc

/// Reads and writes the control files of one sandbox's cgroup directories.
struct CgroupFiles {
    let hierarchy: CgroupHierarchy
    let paths: [String]

    /// The directory holding `controller`'s files: on v1 the one under that controller's mount.
    func directory(for controller: String) -> String? {
        switch hierarchy {
        case .v2: return paths.first
        case .v1(let mounts):
            guard let mount = mounts[controller] else { return nil }
            return paths.first { $0.hasPrefix(mount + "/") }
        }
    }

    func write(controller: String, file: String, _ value: String) throws {
        guard let directory = directory(for: controller) else {
            throw BatonError(.setupFailed, "cgroup controller '\(controller)' is not available")
        }
        try Self.writeFile("\(directory)/\(file)", value)
    }

    func read(controller: String, file: String) -> String? {
        guard let directory = directory(for: controller) else { return nil }
        return try? readText("\(directory)/\(file)").trimmedWhitespace
    }

    /// A "key value" line's value from files such as memory.events or memory.oom_control.
    func keyedValue(controller: String, file: String, key: String) -> UInt64? {
        guard let text = read(controller: controller, file: file) else { return nil }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == key { return UInt64(parts[1]) }
        }
        return nil
    }

    func setMemoryLimit(_ bytes: UInt64) throws {
        if hierarchy.isV2 {
            try write(controller: "memory", file: "memory.max", "\(bytes)")
            // No swap: the limit is the limit. Absent where the kernel has no swap accounting.
            try? write(controller: "memory", file: "memory.swap.max", "0")
        } else {
            try write(controller: "memory", file: "memory.limit_in_bytes", "\(bytes)")
            try? write(controller: "memory", file: "memory.memsw.limit_in_bytes", "\(bytes)")
        }
    }

    func setCPULimit(_ cpus: Double) throws {
        let period = 100_000
        let quota = max(1_000, Int((cpus * Double(period)).rounded()))
        if hierarchy.isV2 {
            try write(controller: "cpu", file: "cpu.max", "\(quota) \(period)")
        } else {
            try write(controller: "cpu", file: "cpu.cfs_period_us", "\(period)")
            try write(controller: "cpu", file: "cpu.cfs_quota_us", "\(quota)")
        }
    }

    /// v2 only hands controllers to children that their parent enables in subtree_control.
    static func enableControllers(at mount: String, and parent: String) throws {
        let wanted = ["memory", "pids", "cpu"]
        let available = (try? readText("\(mount)/cgroup.controllers")) ?? ""
        let enable = wanted.filter { available.split(separator: " ").map(String.init).contains($0) }
        guard !enable.isEmpty else { return }
        let line = enable.map { "+\($0)" }.joined(separator: " ")
        try writeFile("\(mount)/cgroup.subtree_control", line)
        try writeFile("\(parent)/cgroup.subtree_control", line)
    }

    static func writeFile(_ path: String, _ value: String) throws(OSError) {
        let fd = try sys("open \(path)") { open(path, O_WRONLY | O_CLOEXEC) }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        try sys("write \(path)") { Glibc.write(fd, bytes, bytes.count) }
    }
}

func readText(_ path: String) throws -> String {
    try String(contentsOfFile: path, encoding: .utf8)
}
