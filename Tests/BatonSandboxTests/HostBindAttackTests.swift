import BatonTestSupport
import Foundation
import Testing

/// Host paths enter a sandbox only through `publish --base host` on this host: read-only,
/// nosuid, nodev, all the way down, and never because an artifact's config asks.
@Suite(.enabled(if: isRoot, "requires root"))
struct HostBindAttackTests {
    /// An imported image labelled `org.baton.host-binds: /.` (the host's root, which the old
    /// read-only remount left writable) or `/etc,<state root>`: none of it appears inside.
    @Test func anImportedImageAskingForTheHostRootOrTheStateRootGetsNothing() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let marker = "/etc/baton-host-marker-\(UUID().uuidString.prefix(6))"
        try "host\n".write(toFile: marker, atomically: true, encoding: .utf8)
        defer { unlink(marker) }
        for (index, request) in ["/.", "/etc,\(fixture.root)", "/usr/../etc", "etc"].enumerated() {
            let archive = fixture.root + "-forged-\(index).tar"
            defer { unlink(archive) }
            try OCIArchive.make(from: fixture.rootfs, labels: ["org.baton.host-binds": request], cmd: ["/bin/sh"], at: archive)
            let imported = try BatonBinary.run(["artifact", "import", archive, "--name", "forged\(index):1"], root: fixture.root)
            #expect(imported.status == 0, "\(imported.stderr)")
            let inspect = try BatonBinary.run(["artifact", "inspect", "forged\(index):1", "--json"], root: fixture.root)
            let details = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any]
            #expect((details?["host_binds"] as? [String]) == [], "\(inspect.stdout)")
            let result = try BatonBinary.run(["run", "forged\(index):1", "--", "/bin/sh", "-c",
                                              "cat \(marker) 2>&1; ls \(fixture.root) 2>&1; touch /planted 2>&1; ls /etc"],
                                             root: fixture.root)
            #expect(result.status == 0, "\(request): \(result.stderr)")
            #expect(!result.stdout.contains("host\n"), "\(request): the host's /etc is visible")
            #expect(!result.stdout.contains("baton.sock") && !result.stdout.contains("sandboxes"), "\(request): the state root is visible")
            #expect(result.stdout.contains("Read-only file system"))
            #expect(result.stdout.hasSuffix("passwd\n"), "\(request): /etc is the image's own")
        }
        #expect(!FileManager.default.fileExists(atPath: "/planted"))
    }

    /// A tmpfs the host mounted beneath /usr: a plain bind plus read-only remount of /usr
    /// leaves it writable inside. Every mount under a host bind is read-only, nosuid, nodev.
    @Test func aMountBeneathABoundHostDirectoryIsReadOnlyNosuidAndNodevInside() throws {
        let fixture = try SandboxFixture()
        let beneath = "/usr/local/baton-test-\(UUID().uuidString.prefix(6).lowercased())"
        try FileManager.default.createDirectory(atPath: beneath, withIntermediateDirectories: true)
        #expect(shell("mount -t tmpfs -o mode=1777,size=1m baton-test \(beneath) 2>&1; echo $?") == "0\n")
        try "host data\n".write(toFile: beneath + "/file", atomically: true, encoding: .utf8)
        defer {
            shell("umount -l \(beneath)")
            rmdir(beneath)
            fixture.finish()
        }
        let app = fixture.root + "-host-app"
        try FileManager.default.createDirectory(atPath: app, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: app) }
        let published = try BatonBinary.run(["artifact", "publish", "hosted:1", app, "--base", "host", "--cmd", "/bin/true"], root: fixture.root)
        #expect(published.status == 0, "\(published.stderr)")
        let result = try BatonBinary.run(["run", "hosted:1", "--", "/bin/sh", "-c",
                                          "cat \(beneath)/file; echo x > \(beneath)/planted 2>&1 || echo refused; grep ' \(beneath) ' /proc/self/mountinfo"],
                                         root: fixture.root)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("host data\n"))
        #expect(result.stdout.contains("refused"))
        #expect(!FileManager.default.fileExists(atPath: beneath + "/planted"))
        let options = result.stdout.split(separator: "\n").last.map { $0.split(separator: " ")[5] } ?? ""
        #expect(options.split(separator: ",").contains("ro"), "\(result.stdout)")
        #expect(options.split(separator: ",").contains("nosuid"), "\(result.stdout)")
        #expect(options.split(separator: ",").contains("nodev"), "\(result.stdout)")
    }
}
