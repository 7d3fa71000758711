import FoundationEssentials

/// Which cgroup layout the host has. Hybrid hosts (a v2 mount with no controllers beside v1
/// controller mounts, as systemd's "hybrid" mode or this project's CI) are treated as v1.
public enum CgroupHierarchy: Sendable, Equatable {
    /// Mount point of each v1 controller, e.g. "memory" -> "/sys/fs/cgroup/memory".
    case v1([String: String])
    /// The unified hierarchy's mount point.
    case v2(String)

    public var isV2: Bool {
        if case .v2 = self { return true }
        return false
    }

    /// This host's layout, read once.
    public static let host: CgroupHierarchy? = detect()

    /// Reads /proc/self/mountinfo.
    public static func detect() -> CgroupHierarchy? {
        guard let text = try? readText("/proc/self/mountinfo") else { return nil }
        return parse(mountinfo: text)
    }

    static func parse(mountinfo: String) -> CgroupHierarchy? {
        var v1: [String: String] = [:]
        var unified: String?
        for line in mountinfo.utf8.split(separator: UInt8(ascii: "\n")) {
            // "<id> <parent> <dev> <root> <mountpoint> <opts> [optional…] - <fstype> <source> <superopts>"
            let fields = line.split(separator: UInt8(ascii: " "))
            guard let dash = fields.firstIndex(where: { $0.elementsEqual("-".utf8) }),
                  fields.count >= dash + 4, dash >= 5 else { continue }
            let fstype = String(decoding: fields[dash + 1], as: UTF8.self)
            let mountPoint = String(decoding: fields[4], as: UTF8.self)
            switch fstype {
            case "cgroup2":
                if unified == nil, hasControllers(mountPoint) { unified = mountPoint }
            case "cgroup":
                for option in fields[dash + 3].split(separator: UInt8(ascii: ",")) {
                    let name = String(decoding: option, as: UTF8.self)
                    if knownV1Controllers.contains(name) { v1[name] = mountPoint }
                }
            default:
                continue
            }
        }
        if let unified, v1.isEmpty { return .v2(unified) }
        if !v1.isEmpty { return .v1(v1) }
        return unified.map { .v2($0) }
    }

    static let knownV1Controllers: Set<String> = ["memory", "pids", "cpu", "cpuacct", "cpuset", "blkio", "devices", "freezer"]

    private static func hasControllers(_ mountPoint: String) -> Bool {
        guard let controllers = try? readText("\(mountPoint)/cgroup.controllers") else { return false }
        return controllers.utf8.contains { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\n") }
    }
}

