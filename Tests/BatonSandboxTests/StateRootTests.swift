import BatonTestSupport
import Foundation
import Testing

/// `$BATON_ROOT` is Baton's alone: 0700, so no other local user reaches a layer (with the
/// set-id bits and owners its artifact gave it), a record or a log.
@Suite(.enabled(if: isRoot, "requires root"))
struct StateRootTests {
    func mode(_ path: String) -> Int {
        var info = stat()
        return lstat(path, &info) == 0 ? Int(info.st_mode & 0o7777) : -1
    }

    /// `baton ARGS` as the unprivileged user nobody, stdout and stderr together.
    func asNobody(_ command: String) -> String {
        shell("setpriv --reuid=65534 --regid=65534 --clear-groups /bin/sh -c '\(command)' 2>&1")
    }

    @Test func aNewRootAndWhatIsMadeInItArePrivate() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        try FileManager.default.removeItem(atPath: fixture.root)
        let app = fixture.root + "-app"
        try FileManager.default.createDirectory(atPath: app + "/bin", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: app) }
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: app + "/bin/busybox")
        #expect(try BatonBinary.run(["artifact", "publish", "bb:1", app], root: fixture.root).status == 0)
        let run = try BatonBinary.run(["run", "bb:1", "--", "/bin/busybox", "true"], root: fixture.root)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(mode(fixture.root) == 0o700)
        for directory in ["store", "store/blobs", "store/blobs/sha256", "store/ingest", "layers", "sandboxes", "seccomp"] {
            #expect(mode(fixture.root + "/" + directory) == 0o700, "\(directory)")
        }
        for file in ["store/index.json", "store/oci-layout"] {
            #expect(mode(fixture.root + "/" + file) == 0o600, "\(file)")
        }
        for blob in try FileManager.default.contentsOfDirectory(atPath: fixture.root + "/store/blobs/sha256") {
            #expect(mode(fixture.root + "/store/blobs/sha256/" + blob) == 0o600, "blob \(blob)")
        }
        // The skeleton is the top of every sandbox's root: `/` inside stays 0755.
        #expect(mode(fixture.root + "/skeleton") == 0o755)
    }

    @Test func aRootLeftOpenByAnOlderVersionIsTightened() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        for directory in ["layers", "sandboxes", "store/blobs/sha256"] {
            try FileManager.default.createDirectory(atPath: fixture.root + "/" + directory, withIntermediateDirectories: true)
        }
        try "{}".write(toFile: fixture.root + "/store/blobs/sha256/old", atomically: true, encoding: .utf8)
        shell("chmod -R a+rX \(fixture.root); chmod 755 \(fixture.root)")
        let result = try fixture.run([], ["/bin/true"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(mode(fixture.root) == 0o700)
        #expect(mode(fixture.root + "/layers") == 0o700)
        #expect(mode(fixture.root + "/store/blobs/sha256") == 0o700)
        #expect(mode(fixture.root + "/store/blobs/sha256/old") == 0o600)
    }

    /// A layer ships a set-uid-root shell; another local user may neither list the layers nor
    /// run it.
    @Test func anotherUserCannotReachALayersSetuidFile() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let app = fixture.root + "-setuid-app"
        try FileManager.default.createDirectory(atPath: app + "/bin", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: app) }
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: app + "/bin/busybox")
        chmod(app + "/bin/busybox", 0o4755)
        #expect(try BatonBinary.run(["artifact", "publish", "suid:1", app], root: fixture.root).status == 0)
        #expect(try BatonBinary.run(["run", "suid:1", "--", "/bin/busybox", "true"], root: fixture.root).status == 0)
        let layers = try FileManager.default.contentsOfDirectory(atPath: fixture.root + "/layers").filter { !$0.hasPrefix(".") }
        let layer = try #require(layers.first { FileManager.default.fileExists(atPath: "\(fixture.root)/layers/\($0)/bin/busybox") })
        let setuidFile = "\(fixture.root)/layers/\(layer)/bin/busybox"
        #expect(mode(setuidFile) & 0o4000 != 0, "the layer keeps its set-id bit for the sandbox")
        #expect(asNobody("ls \(fixture.root)/layers").contains("Permission denied"))
        #expect(asNobody("\(setuidFile) id -u").contains("Permission denied"))
        #expect(asNobody("cat \(fixture.root)/store/index.json").contains("Permission denied"))
    }

    @Test func aRootOwnedByAnotherUserIsRefusedAndLeftAlone() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        chown(fixture.root, 65534, 65534)
        chmod(fixture.root, 0o755)
        let result = try fixture.run([], ["/bin/true"])
        #expect(result.status != 0)
        #expect(result.stderr == "error: root \(fixture.root) is owned by uid 65534, not by Baton's user (uid 0): chown it or choose another --root\n")
        #expect(mode(fixture.root) == 0o755)
        #expect(!FileManager.default.fileExists(atPath: fixture.root + "/sandboxes"))
    }

    /// Another user plants `/tmp/x -> /etc` where the operator's root will be: Baton must not
    /// follow it and chmod /etc.
    @Test func aRootSymlinkPlantedByAnotherUserIsNotFollowed() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let victim = fixture.root + "/victim"
        try FileManager.default.createDirectory(atPath: victim, withIntermediateDirectories: true)
        chmod(victim, 0o755)
        let planted = fixture.root + "/planted-root"
        symlink(victim, planted)
        lchown(planted, 65534, 65534)
        let result = try BatonBinary.run(["run", "--rootfs", fixture.rootfs, "--", "/bin/true"], root: planted)
        #expect(result.status != 0)
        #expect(result.stderr.hasPrefix("error: root \(planted) is a symbolic link owned by uid 65534"))
        #expect(mode(victim) == 0o755)
        #expect(try FileManager.default.contentsOfDirectory(atPath: victim).isEmpty)
    }
}
