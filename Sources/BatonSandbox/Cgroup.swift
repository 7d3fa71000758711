import BatonOS
import FoundationEssentials
import Glibc

/// A sandbox's cgroup: created before the sandbox starts, the child placed in it before it
/// runs anything, limits written, removed after. Works on cgroup v1 (one directory per
/// controller hierarchy) and v2 (one unified directory).
public final class Cgroup: Sendable {
    public let hierarchy: CgroupHierarchy
    /// Directories created for this sandbox, one per hierarchy used.
    public let paths: [String]

    /// Creates `baton/<name>` in every hierarchy the limits need, and memory and pids for
    /// `accounting` (memory use, finding every process). With neither, creates nothing:
    /// moving a process into a v1 cgroup waits for an RCU grace period, milliseconds that a
    /// one-off sandbox without limits need not pay.
    public static func create(name: String, hierarchy: CgroupHierarchy, memory: UInt64?, pids: Int?, cpus: Double?,
                              accounting: Bool) throws -> Cgroup {
        var created: [String] = []
        do {
            switch hierarchy {
            case .v1(let mounts):
                var wanted: [String] = []
                if memory != nil || accounting { wanted.append("memory") }
                if pids != nil || accounting { wanted.append("pids") }
                if cpus != nil { wanted.append("cpu") }
                for controller in wanted {
                    guard let mount = mounts[controller] else {
                        throw BatonError(.setupFailed, "cgroup v1 controller '\(controller)' is not mounted; it is needed for the limits asked for")
                    }
                    let path = "\(mount)/baton/\(name)"
                    try makeDirectory("\(mount)/baton")
                    try sys("mkdir \(path)") { mkdir(path, 0o755) }
                    created.append(path)
                }
            case .v2 where memory == nil && pids == nil && cpus == nil && !accounting:
                break
            case .v2(let mount):
                try makeDirectory("\(mount)/baton")
                try CgroupFiles.enableControllers(at: mount, and: "\(mount)/baton")
                let path = "\(mount)/baton/\(name)"
                try sys("mkdir \(path)") { mkdir(path, 0o755) }
                created.append(path)
            }
            let cgroup = Cgroup(hierarchy: hierarchy, paths: created)
            try cgroup.applyLimits(memory: memory, pids: pids, cpus: cpus)
            return cgroup
        } catch {
            for path in created.reversed() { rmdir(path) }
            throw error
        }
    }

    /// No cgroup at all: every operation is a no-op.
    static let none = Cgroup(hierarchy: .v1([:]), paths: [])

    /// The directories a sandbox named `name` would have, whether or not they exist.
    static func existing(name: String, hierarchy: CgroupHierarchy) -> Cgroup {
        switch hierarchy {
        case .v1(let mounts):
            let paths = Set(mounts.values).sorted().map { "\($0)/baton/\(name)" }
            return Cgroup(hierarchy: hierarchy, paths: paths.filter { access($0, F_OK) == 0 })
        case .v2(let mount):
            let path = "\(mount)/baton/\(name)"
            return Cgroup(hierarchy: hierarchy, paths: access(path, F_OK) == 0 ? [path] : [])
        }
    }

    /// Whether `pid` is in this cgroup (in every hierarchy it has a directory in).
    public func contains(pid: pid_t) -> Bool {
        paths.allSatisfy { path in
            ((try? readText("\(path)/cgroup.procs")) ?? "").split(separator: "\n").contains { $0 == "\(pid)" }
        }
    }

    /// Whether any process is still in the cgroup.
    public var hasProcesses: Bool {
        paths.contains { path in
            let procs = (try? readText("\(path)/cgroup.procs")) ?? ""
            return !procs.trimmedWhitespace.isEmpty
        }
    }

    init(hierarchy: CgroupHierarchy, paths: [String]) {
        self.hierarchy = hierarchy
        self.paths = paths
    }

    private func applyLimits(memory: UInt64?, pids: Int?, cpus: Double?) throws {
        let files = CgroupFiles(hierarchy: hierarchy, paths: paths)
        if let memory { try files.setMemoryLimit(memory) }
        if let pids { try files.write(controller: "pids", file: "pids.max", "\(pids)") }
        if let cpus { try files.setCPULimit(cpus) }
    }

    /// For cgroup v2's CLONE_INTO_CGROUP: an O_PATH fd on the directory, or nil on v1.
    public func directoryFD() throws(OSError) -> Int32? {
        guard case .v2 = hierarchy, let path = paths.first else { return nil }
        return try sys("open \(path)") { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
    }

    /// Moves a process in (v1: every hierarchy; on v2 the clone placed it already).
    public func add(pid: pid_t) throws {
        guard case .v1 = hierarchy else { return }
        for path in paths {
            try CgroupFiles.writeFile("\(path)/cgroup.procs", "\(pid)")
        }
    }

    /// Whether the kernel's OOM killer killed a process in this cgroup.
    public var oomKilled: Bool {
        let files = CgroupFiles(hierarchy: hierarchy, paths: paths)
        return (files.keyedValue(controller: "memory", file: hierarchy.isV2 ? "memory.events" : "memory.oom_control", key: "oom_kill") ?? 0) > 0
    }

    /// Current memory use in bytes, if the memory controller is there.
    public var memoryUsage: UInt64? {
        let files = CgroupFiles(hierarchy: hierarchy, paths: paths)
        let name = hierarchy.isV2 ? "memory.current" : "memory.usage_in_bytes"
        return files.read(controller: "memory", file: name).flatMap { UInt64($0) }
    }

    /// Removes the directories; retries briefly while the kernel finishes with exiting tasks.
    public func remove() {
        for path in paths.reversed() {
            for attempt in 0..<200 {
                if rmdir(path) == 0 || errno == ENOENT { break }
                if errno != EBUSY || attempt == 199 { break }
                usleep(5_000)
            }
        }
    }

    private static func makeDirectory(_ path: String) throws(OSError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw OSError("mkdir \(path)", errno: errno) }
    }
}
