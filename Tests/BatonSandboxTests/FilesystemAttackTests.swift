import BatonTestSupport
import Foundation
import Testing

/// Attacks on the root, /proc, /dev and the mount setup.
@Suite(.enabled(if: isRoot, "requires root"))
struct FilesystemAttackTests {
    @Test func writingTheRootFails() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let result = try fixture.sh("touch /bin/planted; echo $?; touch /planted 2>&1; mkdir /etc/x 2>&1")
        #expect(result.stdout.hasPrefix("1\n"))
        #expect(result.stdout.contains("Read-only file system"))
        #expect(!FileManager.default.fileExists(atPath: fixture.rootfs + "/bin/planted"))
        #expect(!FileManager.default.fileExists(atPath: fixture.rootfs + "/planted"))
    }

    @Test func tmpIsASizeLimitedWritableTmpfs() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let result = try fixture.sh("echo data > /tmp/f && cat /tmp/f; grep ' /tmp ' /proc/mounts")
        #expect(result.stdout.hasPrefix("data\n"))
        #expect(result.stdout.contains("tmpfs /tmp tmpfs rw,nosuid,nodev"))
        #expect(result.stdout.contains("size=65536k"))
    }

    @Test func readingMaskedProcPathsShowsNothing() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        // Only the masked paths this kernel has; the others do not exist to be read.
        let present = ["/proc/keys", "/proc/timer_list", "/proc/kcore", "/proc/sched_debug"].filter {
            FileManager.default.fileExists(atPath: $0)
        }
        #expect(!present.isEmpty)
        for path in present {
            let result = try fixture.sh("wc -c < \(path)")
            #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "\(path) readable")
        }
        let firmware = try fixture.sh("ls -A /sys/firmware | wc -l; ls -A /proc/acpi 2>/dev/null | wc -l")
        #expect(firmware.stdout == "0\n0\n")
    }

    @Test func writingProcSysFails() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let before = try String(contentsOfFile: "/proc/sys/kernel/domainname", encoding: .utf8)
        let result = try fixture.sh("echo evil > /proc/sys/kernel/domainname; echo $?; echo 1 > /proc/sysrq-trigger; grep ' /proc/sys ' /proc/mounts")
        #expect(result.stdout.hasPrefix("1\n"))
        #expect(result.stdout.contains("proc /proc/sys proc ro,"))
        #expect(try String(contentsOfFile: "/proc/sys/kernel/domainname", encoding: .utf8) == before)
    }

    @Test func openingInitsExeForWritingFails() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let hashBefore = shell("sha256sum \(BatonBinary.path)")
        let result = try fixture.run([], ["/probe", "write-exe", "/proc/1/exe"])
        #expect(["EACCES", "EPERM", "ETXTBSY"].contains(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        let viaShell = try fixture.sh("echo x > /proc/1/exe && echo WROTE; readlink /proc/1/exe || echo hidden")
        #expect(!viaShell.stdout.contains("WROTE"))
        #expect(shell("sha256sum \(BatonBinary.path)") == hashBefore)
    }

    @Test func aSymlinkedDevOrProcInTheRootIsNotFollowed() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let base = fixture.root + "/attack"
        let victim = base + "/victim"
        let evil = base + "/rootfs"
        try FileManager.default.createDirectory(atPath: victim, withIntermediateDirectories: true)
        try "precious\n".write(toFile: victim + "/marker", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: evil + "/bin", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: evil + "/bin/busybox")
        try FileManager.default.createSymbolicLink(atPath: evil + "/bin/sh", withDestinationPath: "busybox")
        for name in ["dev", "proc", "tmp", "sys"] {
            try FileManager.default.createSymbolicLink(atPath: "\(evil)/\(name)", withDestinationPath: victim)
        }
        let result = try BatonBinary.run(["run", "--rootfs", evil, "--", "/bin/sh", "-c",
                                          "/bin/busybox stat -c %F /dev/null; /bin/busybox ls /dev | /bin/busybox head -3; /bin/busybox cat /proc/1/comm >/dev/null && echo proc-ok"],
                                         root: fixture.root)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("character special file\n"))
        #expect(result.stdout.contains("proc-ok"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: victim) == ["marker"])
        let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        #expect(!mounts.contains(victim))
    }

    @Test func aFakeDevNullInTheRootIsNotUsed() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let evil = fixture.root + "/fake-null-root"
        try FileManager.default.createDirectory(atPath: evil + "/bin", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: evil + "/dev", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: evil + "/bin/busybox")
        try FileManager.default.createSymbolicLink(atPath: evil + "/bin/sh", withDestinationPath: "busybox")
        try "not a device\n".write(toFile: evil + "/dev/null", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: evil + "/dev/zero", withDestinationPath: "/bin/busybox")
        let result = try BatonBinary.run(["run", "--rootfs", evil, "--", "/bin/sh", "-c",
                                          "echo leak > /dev/null; /bin/busybox stat -c '%F %t:%T' /dev/null /dev/zero"],
                                         root: fixture.root)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "character special file 1:3\ncharacter special file 1:5\n")
        #expect(try String(contentsOfFile: evil + "/dev/null", encoding: .utf8) == "not a device\n")
    }

    @Test func devHoldsOnlyTheListedDevices() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let result = try fixture.sh("ls /dev | tr '\\n' ' '; touch /dev/new 2>/dev/null || echo ro")
        #expect(result.stdout == "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero ro\n")
    }

    /// Without a user namespace each device is a node of the sandbox's own /dev, not the host's
    /// inode bound in; with one (where mknod is not permitted) the verified host node is bound.
    /// Either way: the expected numbers, mode 0666, and writes to /dev/null vanish.
    @Test func devicesAreTheSandboxsOwnNodesWithTheExpectedNumbers() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        var host = stat()
        #expect(stat("/dev/null", &host) == 0)
        let script = "for d in null zero full random urandom tty; do stat -c '%n %t:%T %a %d:%i' /dev/$d; done; echo x > /dev/null && echo written"
        let expected = ["/dev/null 1:3 666", "/dev/zero 1:5 666", "/dev/full 1:7 666", "/dev/random 1:8 666",
                        "/dev/urandom 1:9 666", "/dev/tty 5:0 666"]
        for flags: [String] in [[], ["--userns"]] {
            let result = try fixture.sh(script, flags: flags)
            let lines = result.stdout.split(separator: "\n").map(String.init)
            #expect(result.status == 0 && lines.count == 7, "\(flags): \(result.stderr)")
            guard lines.count == 7 else { continue }
            #expect(lines.prefix(6).map { $0.split(separator: " ").prefix(3).joined(separator: " ") } == expected, "\(flags)")
            #expect(lines[6] == "written")
            let hostNull = "\(host.st_dev):\(host.st_ino)"
            let sandboxNull = lines[0].split(separator: " ").last.map(String.init) ?? ""
            if flags.isEmpty {
                #expect(sandboxNull != hostNull, "the sandbox's /dev/null is its own node")
            }
        }
    }

    @Test func workdirThroughProcSelfFdIsRefused() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        // The runc CVE-2024-21626 shape: a leaked directory fd as the working directory.
        let result = try BatonBinary.run(["run", "--rootfs", fixture.rootfs, "--workdir", "/proc/self/fd/7", "--", "/bin/pwd"],
                                         root: fixture.root)
        #expect(result.status != 0)
        #expect(result.stderr.hasPrefix("error: sandbox setup failed at working directory '/proc/self/fd/7'"))
        let viaLink = try BatonBinary.run(["run", "--rootfs", fixture.rootfs, "--workdir", "/proc/1/cwd", "--", "/bin/pwd"], root: fixture.root)
        #expect(viaLink.status != 0)
    }

    @Test func workdirInsideTheRootIsEntered() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let result = try fixture.run(["--workdir", "/srv"], ["/bin/pwd"])
        #expect(result.stdout == "/srv\n")
    }
}
