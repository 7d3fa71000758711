import BatonTestSupport
import BatonOS
import Foundation
import Glibc
import Testing
@testable import BatonStore

@Suite struct VerificationTests {
    /// Flips one byte of a blob in place.
    func corrupt(_ path: String, at offset: Int = 100) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        let byte = try handle.read(upToCount: 1)?.first ?? 0
        try handle.seek(toOffset: UInt64(offset))
        try handle.write(contentsOf: [byte ^ 0xff])
    }

    @Test(.enabled(if: isRoot, "requires root"))
    func corruptLayerBlobIsDetectedBeforeUse() throws {
        let temp = TempDir()
        defer { temp.remove() }
        let root = temp.sub("root")
        let store = try ArtifactStore(root: root)
        try Tree.sample(at: temp.sub("app"))
        _ = try store.publish("app:1", directory: temp.sub("app"))
        let artifact = try store.resolve("app:1")
        try corrupt(StoreLayout(root: root).blobPath(artifact.layers[0].digest), at: 600)
        let error = #expect(throws: BatonError.self) { try store.unpackedLayers(of: artifact) }
        #expect(error?.message.contains(artifact.layers[0].digest.description) == true)
        #expect(FileIO.listDirectory(root + "/layers").isEmpty)
        #expect(try store.verify().count == 1)
    }

    @Test(.enabled(if: isRoot, "requires root"))
    func corruptManifestOrConfigIsDetected() throws {
        let temp = TempDir()
        defer { temp.remove() }
        let root = temp.sub("root")
        let store = try ArtifactStore(root: root)
        try Tree.sample(at: temp.sub("app"))
        _ = try store.publish("app:1", directory: temp.sub("app"))
        let artifact = try store.resolve("app:1")
        try corrupt(StoreLayout(root: root).blobPath(artifact.configDescriptor.digest), at: 10)
        #expect(throws: BatonError.self) { try store.resolve("app:1") }
        #expect(throws: BatonError.self) { try store.exportArchive("app:1", to: temp.sub("out.tar")) }
        #expect(!FileManager.default.fileExists(atPath: temp.sub("out.tar")))
    }

    @Test(.enabled(if: isRoot, "requires root"))
    func layersAreUnpackedOnceTopFirst() throws {
        let temp = TempDir()
        defer { temp.remove() }
        let store = try ArtifactStore(root: temp.sub("root"))
        try Tree.sample(at: temp.sub("base"))
        try Tree.write(temp.sub("top/srv/index.html"), "hello")
        _ = try store.publish("base:1", directory: temp.sub("base"), options: { var o = PublishOptions(); o.cmd = ["/bin/app"]; o.env = ["A=1", "B=1"]; return o }())
        var options = PublishOptions()
        options.base = .artifact("base:1")
        options.env = ["B=2"]
        _ = try store.publish("top:1", directory: temp.sub("top"), options: options)
        let top = try store.resolve("top:1")
        #expect(top.layers.count == 2)
        #expect(top.config.cmd == ["/bin/app"])
        #expect(top.config.env == ["A=1", "B=2"])
        #expect(top.base == (try store.resolve("base:1").digest))
        let first = try store.unpackedLayers(of: top)
        #expect(first.count == 2)
        #expect(FileManager.default.fileExists(atPath: first[0] + "/srv/index.html"))
        #expect(FileManager.default.fileExists(atPath: first[1] + "/bin/app"))
        #expect(try store.unpackedLayers(of: top) == first)
    }
}
