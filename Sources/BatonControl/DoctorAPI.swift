import FoundationEssentials

/// `GET /v1/doctor` and `POST /v1/doctor/fix` (root only): what Baton made under its root and
/// no record accounts for (`baton doctor`, `baton ps --all`).
public struct DoctorReport: Codable, Sendable, Equatable {
    public struct Directory: Codable, Sendable, Equatable {
        public var id: String
        public var path: String
        /// Its recorded init, still running.
        public var pid: Int32?

        public init(id: String, path: String, pid: Int32?) {
            self.id = id
            self.path = path
            self.pid = pid
        }
    }

    public struct Cgroup: Codable, Sendable, Equatable {
        public var id: String
        public var paths: [String]
        public var pids: [Int32]

        public init(id: String, paths: [String], pids: [Int32]) {
            self.id = id
            self.paths = paths
            self.pids = pids
        }
    }

    public var root: String
    public var directories: [Directory]
    public var cgroups: [Cgroup]
    public var mounts: [String]
    /// After a fix: true, and what could not be removed.
    public var fixed: Bool
    public var failures: [String]

    public init(root: String, directories: [Directory], cgroups: [Cgroup], mounts: [String], fixed: Bool, failures: [String]) {
        self.root = root
        self.directories = directories
        self.cgroups = cgroups
        self.mounts = mounts
        self.fixed = fixed
        self.failures = failures
    }

    public var isEmpty: Bool { directories.isEmpty && cgroups.isEmpty && mounts.isEmpty }

    /// One line per finding.
    public var lines: [String] {
        directories.map { "sandbox directory \($0.path): no record" + ($0.pid.map { ", its init (pid \($0)) still runs" } ?? "") }
            + cgroups.map { cgroup in
                "cgroup baton/\(cgroup.id) (\(cgroup.paths.joined(separator: ", ")))"
                    + (cgroup.pids.isEmpty ? ": empty" : ": processes " + cgroup.pids.map(String.init).joined(separator: " "))
            }
            + mounts.map { "mount \($0)" }
    }
}

extension ControlClient {
    public func doctor(fix: Bool) throws -> DoctorReport {
        try decode(DoctorReport.self, try call(fix ? "POST" : "GET", fix ? "/v1/doctor/fix" : "/v1/doctor"))
    }
}
