import BatonControl
import BatonOS
import BatonSandbox

/// `baton doctor [--fix]`: what Baton made under the root and no record accounts for.
extension DeployService {
    /// Leftovers now; with `fix`, removed (processes killed, mounts detached, cgroups and
    /// directories removed) and looked for again: the report lists what was found, and as
    /// failures what is still there.
    func doctor(fix: Bool) throws -> DoctorReport {
        let found = try leftovers()
        guard fix, !found.isEmpty else { return Self.report(found, fixed: fix, failures: []) }
        let failures = found.remove()
        for directory in found.directories { logger.notice("doctor: removed sandbox directory \(directory.path)") }
        for cgroup in found.cgroups { logger.notice("doctor: removed cgroup baton/\(cgroup.id), killed \(cgroup.pids.count) processes") }
        for mount in found.mounts { logger.notice("doctor: unmounted \(mount)") }
        // What was found (and so removed), with whatever a second look still finds.
        return Self.report(found, fixed: true, failures: failures + (try leftovers()).lines)
    }

    private func leftovers() throws -> Leftovers {
        let rows = try database.sandboxes(includeEnded: true)
        // A row still `running` whose sandbox this daemon lost is no record's any more.
        let accounted = Set(rows.filter { $0.state == "running" && runtime.live(id: $0.id) != nil }.map(\.id))
        return Leftovers.scan(root: root, accounted: accounted, known: Set(rows.map(\.id)))
    }

    private static func report(_ found: Leftovers, fixed: Bool, failures: [String]) -> DoctorReport {
        DoctorReport(root: found.root,
                     directories: found.directories.map { .init(id: $0.id, path: $0.path, pid: $0.pid) },
                     cgroups: found.cgroups.map { .init(id: $0.id, paths: $0.paths, pids: $0.pids) },
                     mounts: found.mounts, fixed: fixed, failures: failures)
    }
}

extension Leftovers {
    var lines: [String] {
        directories.map { "still there: sandbox directory \($0.path)" } + cgroups.map { "still there: cgroup baton/\($0.id)" }
            + mounts.map { "still there: mount \($0)" }
    }
}
