import BatonOS
import BatonTestSupport
import Foundation
import Glibc
import Testing

/// `baton doctor [--fix]` and `ps --all` against real leftovers: a sandbox directory whose
/// record no row knows, with its init still running in a cgroup of its own and a mount the host
/// sees beneath it. What a record accounts for (the serving sandbox) and what is not this root's
/// (another root's cgroup, mounts outside `<root>/sandboxes`) must come through `--fix` untouched.
@Suite(.serialized) struct DoctorTests {
    static let orphan = "web-deadbeef"
    static let foreign = "web-cafef00d"
    static let controllers = ["memory", "pids"]

    private static func cgroup(_ id: String) -> [String] { controllers.map { "/sys/fs/cgroup/\($0)/baton/\(id)" } }

    /// `sleep` in the cgroups of `id`.
    private static func sleeper(in id: String) throws -> ChildProcess {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/bin/sleep")
        process.arguments = ["1000"]
        try TestProcessLifetime.start(process)
        for path in cgroup(id) {
            mkdir(path, 0o755)
            try "\(process.processIdentifier)".write(toFile: path + "/cgroup.procs", atomically: false, encoding: .utf8)
        }
        return process
    }

    private static func mountTmpfs(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard mount("tmpfs", path, "tmpfs", 0, "size=64k") == 0 else { throw DaemonProcessError("mount \(path): errno \(errno)") }
    }

    private static func mounted(_ path: String) -> Bool {
        ((try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? "").split(separator: "\n")
            .contains { $0.split(separator: " ").count > 4 && $0.split(separator: " ")[4] == path }
    }

    @Test(.enabled(if: geteuid() == 0 && access("/sys/fs/cgroup/memory", F_OK) == 0, "requires root and cgroup v1"))
    func doctorFindsWhatNoRecordAccountsForAndFixRemovesOnlyThat() throws {
        let fixture = try DeployFixture()
        let outside = fixture.root + "-outside"
        let orphanDirectory = "\(fixture.root)/sandboxes/\(Self.orphan)"
        let orphanMount = orphanDirectory + "/mnt"
        let rootMount = fixture.root + "/extra"
        var processes: [ChildProcess] = []
        defer {
            for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
            for process in processes { process.waitUntilExit() }
            for path in [orphanMount, rootMount, outside] where Self.mounted(path) { umount2(path, Int32(MNT_DETACH)) }
            for path in Self.cgroup(Self.orphan) + Self.cgroup(Self.foreign) { rmdir(path) }
            try? FileManager.default.removeItem(atPath: outside)
            fixture.finish()
        }
        try fixture.publishSite("1")
        try fixture.baton(["deploy", "web", "site:1"])
        let serving = try fixture.servingSandbox()

        // The orphan: a directory with a record no row knows, its init running in its cgroup,
        // and a mount of it the host sees.
        try FileManager.default.createDirectory(atPath: orphanDirectory, withIntermediateDirectories: true)
        let lost = try Self.sleeper(in: Self.orphan)
        processes.append(lost)
        let pid = lost.processIdentifier
        let start = try #require(ProcessIdentity.of(pid: pid)).startTime
        let paths = Self.cgroup(Self.orphan).map { "\"\($0)\"" }.joined(separator: ",")
        try #"{"cgroup_paths":[\#(paths)],"environment":[],"id":"\#(Self.orphan)","init_process":{"pid":\#(pid),"start_time":\#(start)},"user_namespace":false}"#
            .write(toFile: orphanDirectory + "/sandbox.json", atomically: true, encoding: .utf8)
        try Self.mountTmpfs(orphanMount)
        // Not this root's: another root's cgroup with its process, mounts outside the sandboxes.
        let other = try Self.sleeper(in: Self.foreign)
        processes.append(other)
        try Self.mountTmpfs(rootMount)
        try Self.mountTmpfs(outside)

        let found = try fixture.baton(["doctor"])
        let lines = found.stdout.split(separator: "\n").map(String.init)
        #expect(lines == [
            "sandbox directory \(orphanDirectory): no record, its init (pid \(pid)) still runs",
            "cgroup baton/\(Self.orphan) (\(Self.cgroup(Self.orphan).sorted().joined(separator: ", "))): processes \(pid)",
            "mount \(orphanMount)",
        ], "\(found.stdout)")
        #expect(found.stderr == "'baton doctor --fix' removes them\n")
        let listed = try fixture.baton(["ps", "--all"]).stdout
        #expect(listed.contains("not accounted for by any record ('baton doctor --fix' removes them):\n  sandbox directory \(orphanDirectory)"), "\(listed)")
        // Looking changes nothing.
        #expect(lost.isRunning && Self.mounted(orphanMount))

        let fixed = try fixture.baton(["doctor", "--fix"])
        #expect(fixed.stdout == lines.map { "removed \($0)\n" }.joined() + "removed everything no record accounted for under \(fixture.root)\n",
                "\(fixed.stderr)")
        lost.waitUntilExit()
        #expect(lost.terminationReason == .uncaughtSignal && lost.terminationStatus == SIGKILL)
        #expect(!Self.mounted(orphanMount))
        #expect(access(orphanDirectory, F_OK) != 0)
        #expect(Self.cgroup(Self.orphan).allSatisfy { access($0, F_OK) != 0 })
        // Untouched: the serving sandbox, another root's cgroup and process, other mounts.
        #expect(fixture.get("/")?.body == "v1\n")
        #expect(try fixture.servingSandbox().id == serving.id)
        #expect(kill(Int32(serving.pid), 0) == 0)
        #expect(other.isRunning)
        #expect(Self.cgroup(Self.foreign).allSatisfy { access($0, F_OK) == 0 })
        #expect(Self.mounted(rootMount) && Self.mounted(outside))
        #expect(try fixture.baton(["doctor"]).stdout == "nothing unaccounted for under \(fixture.root)\n")
        #expect(try fixture.baton(["doctor", "--fix"]).stdout == "nothing left to remove under \(fixture.root)\n")
    }
}
