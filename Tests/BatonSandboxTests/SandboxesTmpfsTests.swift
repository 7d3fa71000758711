import BatonOS
@testable import BatonSandbox
import BatonTestSupport
import Foundation
import Glibc
import Testing

/// `<root>/sandboxes` is a size- and inode-limited tmpfs while the root has sandboxes
/// (SandboxesTmpfs): app code writes nothing there, Baton's records stop at its limit with
/// ENOSPC, a killed launcher's directory is found and removed, and nothing is mounted over
/// sandboxes on disk.
@Suite(.enabled(if: isRoot, "requires root"))
struct SandboxesTmpfsTests {
    @Test func aRecordLivesOnALimitedTmpfsThatGoesWithTheLastSandbox() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish(checking: ["first", "second"]) }
        let first = try BackgroundRun(fixture, name: "first", "true")
        defer { first.end() }
        #expect(first.waitReady() == "ready\n")
        let entry = try #require(Self.mountEntry(SandboxesTmpfs.path(root: fixture.root)), "no mount on <root>/sandboxes")
        #expect(entry.type == "tmpfs")
        #expect(["nosuid", "nodev", "noexec"].allSatisfy(entry.mountOptions.contains), "\(entry.mountOptions)")
        #expect(entry.superOptions.contains("size=65536k") && entry.superOptions.contains("nr_inodes=32768"), "\(entry.superOptions)")
        #expect(access("\(fixture.root)/sandboxes/first/\(SandboxRecord.fileName)", F_OK) == 0)

        let second = try BackgroundRun(fixture, name: "second", "true")
        defer { second.end() }
        #expect(second.waitReady() == "ready\n")
        #expect(first.end() == 0)
        #expect(SandboxesTmpfs.isMounted(root: fixture.root), "the second sandbox's directory is still in it")
        #expect(access("\(fixture.root)/sandboxes/second/\(SandboxRecord.fileName)", F_OK) == 0)
        #expect(second.end() == 0)
        #expect(!SandboxesTmpfs.isMounted(root: fixture.root), "the last sandbox out unmounts it")
        #expect(try DirectoryListing.names(SandboxesTmpfs.path(root: fixture.root)) == [])
    }

    @Test func appCodeWritesNothingThereAndStopsAtItsOwnTmpLimit() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish(checking: ["filler"]) }
        // Attempt: write into the root (the overlay on the sandbox's directory) and 80 MiB into
        // /tmp. Must: the root is read-only, /tmp ends at its 64 MiB, the state tmpfs stays empty
        // but for the record, and nothing appears under /run for this root.
        let script = "touch /x 2>/dev/null || echo read-only; dd if=/dev/zero of=/tmp/fill bs=1M count=80 2>&1 | grep -o 'No space left on device'"
        let filler = try BackgroundRun(fixture, name: "filler", script)
        defer { filler.end() }
        #expect(filler.waitReady() == "read-only\nNo space left on device\nready\n")
        var usage = statvfs()
        #expect(statvfs(SandboxesTmpfs.path(root: fixture.root), &usage) == 0)
        #expect(UInt64(usage.f_blocks - usage.f_bfree) * UInt64(usage.f_frsize) <= 64 << 10, "the sandbox's writes landed in the state tmpfs")
        #expect(access(RuntimeDirectory.path(root: fixture.root), F_OK) != 0)
        #expect(filler.end() == 0)
    }

    @Test func atTheLimitALaunchFailsWithENOSPCAndLeavesNothing() throws {
        let fixture = try SandboxFixture()
        let filler = "\(fixture.root)/sandboxes/filler"
        defer { fixture.finish(checking: ["holder", "over"]) }
        let holder = try BackgroundRun(fixture, name: "holder", "true")
        defer { holder.end() }
        #expect(holder.waitReady() == "ready\n")
        // Baton's records fill it (here one file in their place): writes stop at 64 MiB.
        let fd = open(filler, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        #expect(fd >= 0)
        defer { unlink(filler) }
        let chunk = [UInt8](repeating: 0, count: 1 << 20)
        var written = 0, stopped: Int32 = 0
        while written < 80 << 20 {
            let count = chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if count <= 0 { stopped = errno; break }
            written += count
        }
        close(fd)
        #expect(stopped == ENOSPC && written <= 64 << 20, "wrote \(written) bytes, errno \(stopped)")

        let over = try fixture.run(["--name", "over"], ["/bin/true"])
        #expect(over.status != 0)
        #expect(over.stderr.hasPrefix("error: ") && over.stderr.contains("No space left on device"), "\(over.stderr)")
        #expect(over.stderr.split(separator: "\n").count == 1, "\(over.stderr)")
        #expect(access("\(fixture.root)/sandboxes/over", F_OK) != 0, "the failed launch left its directory")
        unlink(filler)
        #expect(holder.end() == 0)
    }

    @Test func aLauncherKilledWithSIGKILLLeavesWhatDoctorFindsAndRemoves() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish(checking: ["killed"]) }
        let killed = try BackgroundRun(fixture, name: "killed", "true")
        #expect(killed.waitReady() == "ready\n")
        let record = try SandboxRecord.running(root: fixture.root, id: "killed")
        kill(killed.process.processIdentifier, SIGKILL)
        killed.end()
        // The sandbox dies with its launcher (its init has SIGKILL as parent-death signal).
        for _ in 0..<600 where record.initProcess.isAlive { usleep(50_000) }
        #expect(!record.initProcess.isAlive)
        #expect(SandboxesTmpfs.isMounted(root: fixture.root))

        let found = Leftovers.scan(root: fixture.root, accounted: [], known: [])
        #expect(found.directories.map(\.id) == ["killed"])
        #expect(found.remove() == [])
        #expect(!SandboxesTmpfs.isMounted(root: fixture.root), "removing the last directory unmounts the tmpfs")
        #expect(Leftovers.scan(root: fixture.root, accounted: [], known: []).isEmpty)
    }

    @Test func aTmpfsLeftEmptyByAKilledLauncherIsFoundAndUnmounted() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        // What a launcher killed between mounting the tmpfs and making its directory leaves.
        let fd = try SandboxesTmpfs.open(root: fixture.root)
        close(fd)
        #expect(SandboxesTmpfs.isMounted(root: fixture.root))
        let found = Leftovers.scan(root: fixture.root, accounted: [], known: [])
        #expect(found.mounts == [SandboxesTmpfs.path(root: fixture.root)] && found.directories.isEmpty)
        #expect(found.remove() == [])
        #expect(!SandboxesTmpfs.isMounted(root: fixture.root))
    }

    @Test func sandboxesOnDiskAreNeverMountedOver() throws {
        let fixture = try SandboxFixture()
        // An earlier version's sandbox directory, on the root's disk and held by its launcher.
        let older = "\(fixture.root)/sandboxes/older"
        try FileManager.default.createDirectory(atPath: older, withIntermediateDirectories: true)
        let held = try #require(SandboxDirectory.lock(older))
        defer {
            close(held)
            rmdir(older)
            fixture.finish(checking: ["newer"])
        }
        let newer = try BackgroundRun(fixture, name: "newer", "true")
        defer { newer.end() }
        #expect(newer.waitReady() == "ready\n")
        #expect(!SandboxesTmpfs.isMounted(root: fixture.root))
        #expect(try DirectoryListing.names(SandboxesTmpfs.path(root: fixture.root)) == ["newer", "older"])
        #expect(newer.end() == 0)
        #expect(access(older, F_OK) == 0)
    }

    /// The mount at `point` in this process's mount table: type and options.
    static func mountEntry(_ point: String) -> (type: String, mountOptions: [String], superOptions: [String])? {
        let table = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        for line in table.split(separator: "\n") {
            let halves = line.components(separatedBy: " - ")
            let fields = halves[0].split(separator: " ")
            guard halves.count == 2, fields.count > 5, fields[4] == point else { continue }
            let tail = halves[1].split(separator: " ")
            guard tail.count >= 3 else { continue }
            return (String(tail[0]), fields[5].split(separator: ",").map(String.init), tail[2].split(separator: ",").map(String.init))
        }
        return nil
    }
}

/// `baton run --name NAME` of `sh -c SCRIPT` in the background: the script, then `ready`, then
/// a wait for stdin, which the test holds until `end()` closes it (status 0 then).
final class BackgroundRun {
    let process = ChildProcess()
    private let input = Pipe(), output = Pipe()
    private var ended = false

    init(_ fixture: SandboxFixture, name: String, _ script: String) throws {
        process.executableURL = URL(fileURLWithPath: BatonBinary.path)
        process.arguments = ["run", "--name", name, "--rootfs", fixture.rootfs, "--", "/bin/sh", "-c", script + "; echo ready; read x || true"]
        process.environment = ["BATON_ROOT": fixture.root]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// What the program printed up to and including its `ready` line (all of it if it ended
    /// first). Bounded by `baton run`'s own exit: a test never waits on a dead sandbox.
    func waitReady() -> String {
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).hasSuffix("ready\n") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += chunk
        }
        return String(decoding: seen, as: UTF8.self)
    }

    /// Closes the program's stdin and waits for `baton run` to exit; its status. A launcher
    /// still running after 30 s is killed.
    @discardableResult
    func end() -> Int32 {
        if !ended {
            ended = true
            try? input.fileHandleForWriting.close()
            for _ in 0..<600 where process.isRunning { usleep(50_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        return process.terminationStatus
    }
}
