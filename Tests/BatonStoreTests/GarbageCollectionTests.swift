import BatonTestSupport
import BatonOS
import Foundation
import Testing
@testable import BatonStore

@Suite struct GarbageCollectionTests {
    @Test(.enabled(if: isRoot, "requires root"))
    func gcRemovesOnlyWhatNoNameReaches() throws {
        let temp = TempDir()
        defer { temp.remove() }
        let root = temp.sub("root")
        let store = try ArtifactStore(root: root)
        try Tree.sample(at: temp.sub("one"))
        try Tree.sample(at: temp.sub("two"), variant: "2\n")
        _ = try store.publish("app:1", directory: temp.sub("one"))
        _ = try store.publish("app:2", directory: temp.sub("two"))
        let old = try store.resolve("app:1")
        let kept = try store.resolve("app:2")
        _ = try store.unpackedLayers(of: old)
        _ = try store.unpackedLayers(of: kept)
        #expect(try store.collectGarbage().removedBlobs == 0)

        try store.remove("app:1")
        let report = try store.collectGarbage()
        let layout = StoreLayout(root: root)
        #expect(report.removedBlobs == 3)  // manifest, config and layer of app:1
        #expect(report.removedLayers == 1)
        #expect(!FileIO.exists(layout.blobPath(old.layers[0].digest)))
        #expect(!FileIO.exists(layout.layerPath(old.layers[0].digest)))
        #expect(FileIO.exists(layout.layerPath(kept.layers[0].digest)))
        #expect(try store.verify().isEmpty)
        #expect(try store.list().map(\.name) == ["app:2"])
    }
}
