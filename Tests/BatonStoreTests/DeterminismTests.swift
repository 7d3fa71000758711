import BatonTestSupport
import Foundation
import Glibc
import Testing
@testable import BatonStore

@Suite struct DeterminismTests {
    @Test(.enabled(if: isRoot, "requires root"))
    func sameFilesGiveSameDigestWhateverMtimesOwnersAndCreationOrder() throws {
        let temp = TempDir()
        defer { temp.remove() }
        let store = try ArtifactStore(root: temp.sub("root"))
        try Tree.sample(at: temp.sub("one"))
        try Tree.sample(at: temp.sub("two"), reversed: true)
        // Different owners and mtimes on the second tree.
        for path in Tree.listing(temp.sub("two")) {
            let full = temp.sub("two") + "/" + path
            lchown(full, 1000, 1000)
            var times = [timespec(tv_sec: 1_234_567, tv_nsec: 5), timespec(tv_sec: 987_654_321, tv_nsec: 7)]
            utimensat(AT_FDCWD, full, &times, AT_SYMLINK_NOFOLLOW)
        }
        let first = try store.publish("app:1", directory: temp.sub("one"))
        let second = try store.publish("app:2", directory: temp.sub("two"))
        #expect(first.digest == second.digest)
        let layers = try store.resolve("app:1").layers
        #expect(layers.map(\.mediaType) == [MediaType.layerTar])
        #expect(try store.resolve("app:2").layers == layers)
    }

    @Test(.enabled(if: isRoot, "requires root"))
    func differentContentModeOrSymlinkGivesDifferentDigest() throws {
        let temp = TempDir()
        defer { temp.remove() }
        let store = try ArtifactStore(root: temp.sub("root"))
        try Tree.sample(at: temp.sub("base"))
        let base = try store.publish("app:base", directory: temp.sub("base")).digest
        try Tree.sample(at: temp.sub("mode"))
        chmod(temp.sub("mode") + "/etc/app.conf", 0o600)
        try Tree.sample(at: temp.sub("link"))
        unlink(temp.sub("link") + "/bin/app-link")
        symlink("elsewhere", temp.sub("link") + "/bin/app-link")
        #expect(try store.publish("app:mode", directory: temp.sub("mode")).digest != base)
        #expect(try store.publish("app:link", directory: temp.sub("link")).digest != base)
    }

    @Test(.enabled(if: isRoot, "requires root"))
    func configHasNoTimestampsAndRecordsRunSettings() throws {
        let temp = TempDir()
        defer { temp.remove() }
        let store = try ArtifactStore(root: temp.sub("root"))
        try Tree.sample(at: temp.sub("app"))
        var options = PublishOptions()
        options.cmd = ["/bin/app", "--serve"]
        options.workingDir = "/srv"
        options.env = ["MODE=prod"]
        options.ports = [8080]
        options.healthPath = "/healthz"
        options.dest = "/srv/app"
        _ = try store.publish("app:1", directory: temp.sub("app"), options: options)
        let artifact = try store.resolve("app:1")
        #expect(artifact.config.cmd == ["/bin/app", "--serve"])
        #expect(artifact.config.workingDir == "/srv")
        #expect(artifact.config.env == ["MODE=prod"])
        #expect(artifact.config.exposedPorts == [8080])
        #expect(artifact.config.healthPath == "/healthz")
        let configText = String(decoding: try FileIO.readAll(StoreLayout(root: temp.sub("root")).blobPath(artifact.configDescriptor.digest)), as: UTF8.self)
        #expect(!configText.contains("created"))
        #expect(configText.contains(#""ExposedPorts":{"8080/tcp":{}}"#))
        let unpacked = try store.unpackedLayers(of: artifact)
        #expect(FileManager.default.fileExists(atPath: unpacked[0] + "/srv/app/bin/app"))
    }
}
