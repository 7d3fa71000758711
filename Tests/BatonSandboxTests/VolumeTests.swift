import BatonOS
import BatonTestSupport
import Foundation
import Testing

/// `baton run --volume HOSTDIR:/path[:ro]`: the operator's host directory at a path inside,
/// `nosuid` and `nodev`, read-only on request; its mount point exists even in a read-only
/// root that lacks the directory.
@Suite(.enabled(if: isRoot, "requires root"))
struct VolumeTests {
    func hostDirectory(_ fixture: SandboxFixture, _ name: String) throws -> String {
        let path = fixture.root + "-" + name
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func aHostDirectoryIsWritableAtItsPathAndSurvivesTheSandbox() throws {
        let fixture = try SandboxFixture()
        let data = try hostDirectory(fixture, "data")
        defer { try? FileManager.default.removeItem(atPath: data); fixture.finish(checking: ["vol-rw"]) }
        let result = try fixture.run(["--name", "vol-rw", "--volume", "\(data):/srv/app/data"],
                                     ["/bin/sh", "-c", "echo kept > /srv/app/data/f && grep ' /srv/app/data ' /proc/self/mountinfo"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try String(contentsOfFile: data + "/f", encoding: .utf8) == "kept\n")
        let options = result.stdout.split(separator: " ").dropFirst(5).first ?? ""
        #expect(options.split(separator: ",").contains("rw"), "\(result.stdout)")
        #expect(options.split(separator: ",").contains("nosuid") && options.split(separator: ",").contains("nodev"), "\(result.stdout)")
        #expect(!FileManager.default.fileExists(atPath: RuntimeDirectory.path(root: fixture.root) + "/sandbox-layers/vol-rw"),
                "the sandbox's own layer is removed")
    }

    @Test func aReadOnlyVolumeCannotBeWritten() throws {
        let fixture = try SandboxFixture()
        let config = try hostDirectory(fixture, "config")
        try "setting\n".write(toFile: config + "/app.conf", atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: config); fixture.finish() }
        let result = try fixture.sh("cat /config/app.conf; echo x > /config/new 2>&1 || echo refused", flags: ["--volume", "\(config):/config:ro"])
        #expect(result.stdout.hasPrefix("setting\n"))
        #expect(result.stdout.hasSuffix("refused\n"))
        #expect(!FileManager.default.fileExists(atPath: config + "/new"))
    }

    /// A setuid-root program and a device node in a volume grant nothing inside.
    @Test func setuidFilesAndDevicesInAVolumeAreInert() throws {
        let fixture = try SandboxFixture()
        let data = try hostDirectory(fixture, "suid")
        defer { try? FileManager.default.removeItem(atPath: data); fixture.finish() }
        shell("cp /bin/busybox \(data)/busybox && chmod 4755 \(data)/busybox && mknod \(data)/null c 1 3")
        let result = try fixture.sh("/data/busybox id -u; echo x > /data/null 2>&1 || echo nodev", flags: ["--user", "1000", "--volume", "\(data):/data"])
        #expect(result.stdout.hasPrefix("1000\n"), "\(result.stdout)")
        #expect(result.stdout.contains("nodev") || result.stdout.contains("Permission denied"), "\(result.stdout)")
    }

    @Test func badVolumesAreRefusedWithOneLineAndNothingRuns() throws {
        let fixture = try SandboxFixture()
        let real = try hostDirectory(fixture, "real")
        let link = fixture.root + "-link"
        symlink(real, link)
        defer { unlink(link); try? FileManager.default.removeItem(atPath: real); fixture.finish() }
        let cases: [(String, String)] = [
            ("relative:/data", "--volume host directory 'relative' must be an absolute path"),
            ("\(link):/data", "--volume host directory '\(link)' passes through the symbolic link \(link)"),
            ("\(fixture.root)-missing:/data", "--volume host directory '\(fixture.root)-missing' does not exist"),
            ("\(real):data", "mount path 'data' must be an absolute path without '.', '..' or empty parts, other than /"),
            ("\(real):/", "mount path '/' must be an absolute path without '.', '..' or empty parts, other than /"),
            ("\(real):/srv/../etc", "mount path '/srv/../etc' must be an absolute path without '.', '..' or empty parts, other than /"),
            ("\(real):/proc/sys", "mount path '/proc/sys' overlaps /proc, which the sandbox mounts itself"),
            ("\(real):/tmp", "mount path '/tmp' overlaps /tmp, which the sandbox mounts itself"),
            ("\(real):/data:rwx", "--volume '\(real):/data:rwx' must be HOSTDIR:/path or HOSTDIR:/path:ro"),
        ]
        for (volume, message) in cases {
            let result = try fixture.run(["--volume", volume], ["/bin/sh", "-c", "touch /tmp/ran; echo ran"])
            #expect(result.status != 0, "\(volume)")
            // (A malformed flag is ArgumentParser's to report, with its usual hint.)
            #expect(result.stderr.hasPrefix("error: \(message)"), "\(volume): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1)
            #expect(!result.stdout.contains("ran"))
        }
        #expect((try? FileManager.default.contentsOfDirectory(atPath: fixture.root + "/sandboxes")) ?? [] == [])
        #expect((try? FileManager.default.contentsOfDirectory(atPath: RuntimeDirectory.path(root: fixture.root) + "/sandbox-layers")) ?? [] == [])
    }
}
