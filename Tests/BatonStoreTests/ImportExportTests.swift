import BatonTestSupport
import BatonOS
import Foundation
import Testing
@testable import BatonStore

@Suite struct ImportExportTests {
    @Test(.enabled(if: isRoot, "requires root"))
    func exportThenImportKeepsTheDigest() throws {
        let temp = TempDir()
        defer { temp.remove() }
        let source = try ArtifactStore(root: temp.sub("a"))
        try Tree.sample(at: temp.sub("app"))
        let published = try source.publish("app:1", directory: temp.sub("app"))
        try source.exportArchive("app:1", to: temp.sub("app.tar"))
        let target = try ArtifactStore(root: temp.sub("b"))
        let imported = try target.importArchive(temp.sub("app.tar"))
        #expect(imported.name == "app:1")
        #expect(imported.digest == published.digest)
        #expect(try target.importArchive(temp.sub("app.tar"), name: "copy:7").digest == published.digest)
        #expect(try target.verify().isEmpty)
        #expect(try target.unpackedLayers(of: target.resolve("copy:7")).count == 1)
    }

    @Test(.enabled(if: isRoot, "requires root"))
    func gzipLayersImportAndUnpack() throws {
        let temp = TempDir()
        defer { temp.remove() }
        let layer = temp.sub("layer.tar.gz")
        let tar = TarBuilder(path: layer, gzip: true)
        tar.directory("etc")
        tar.file("etc/motd", "compressed")
        tar.close()
        try makeOCIArchive(at: temp.sub("image.tar"), layers: [(layer, MediaType.layerTarGzip)], refName: "gz:1", work: temp.path)
        let store = try ArtifactStore(root: temp.sub("root"))
        _ = try store.importArchive(temp.sub("image.tar"))
        let directory = try store.unpackedLayers(of: try store.resolve("gz:1"))[0]
        #expect(try String(contentsOfFile: directory + "/etc/motd", encoding: .utf8) == "compressed")
    }

    /// Each bad archive: one clear error, and the store exactly as it was.
    @Test(.enabled(if: isRoot, "requires root"))
    func badArchivesChangeNothing() throws {
        let temp = TempDir()
        defer { temp.remove() }
        let store = try ArtifactStore(root: temp.sub("root"))
        try Tree.sample(at: temp.sub("app"))
        _ = try store.publish("app:1", directory: temp.sub("app"))
        try store.exportArchive("app:1", to: temp.sub("good.tar"))
        let good = try FileIO.readAll(temp.sub("good.tar"), limit: 1 << 30)

        var cases: [(String, [UInt8], String?)] = []
        cases.append(("truncated", Array(good.prefix(good.count / 2)), nil))
        var flipped = good
        flipped[flipped.count - 3000] ^= 0xff  // inside the last blob (the layer)
        cases.append(("corrupt blob", flipped, "other:1"))
        cases.append(("not a tar", Array("hello, world".utf8), nil))
        let noIndex = TarBuilder(path: temp.sub("noindex.tar"))
        noIndex.file("oci-layout", "{}")
        noIndex.close()
        cases.append(("no index", try FileIO.readAll(temp.sub("noindex.tar")), nil))
        let badJSON = TarBuilder(path: temp.sub("badjson.tar"))
        badJSON.file("index.json", "{not json")
        badJSON.close()
        cases.append(("invalid JSON", try FileIO.readAll(temp.sub("badjson.tar")), nil))
        let mismatch = TarBuilder(path: temp.sub("mismatch.tar"))
        mismatch.file("blobs/sha256/" + String(repeating: "a", count: 64), "not that content")
        mismatch.close()
        cases.append(("digest mismatch", try FileIO.readAll(temp.sub("mismatch.tar")), nil))

        let before = snapshot(temp.sub("root"))
        for (label, bytes, name) in cases {
            let path = temp.sub("\(label).bad")
            try FileIO.writeAtomically(bytes, to: path)
            let error = #expect(throws: BatonError.self, "\(label)") { try store.importArchive(path, name: name) }
            #expect(error?.message.isEmpty == false)
            #expect(snapshot(temp.sub("root")) == before, "\(label) changed the store")
        }
        #expect(throws: BatonError.self) { try store.importArchive(temp.sub("missing.tar")) }
        #expect(throws: BatonError.self) { try store.importArchive(temp.sub("good.tar"), name: "Bad Name") }
        #expect(snapshot(temp.sub("root")) == before)
    }

    /// An archive whose own entries try to escape: import reads only `index.json` and
    /// `blobs/sha256/<hex>` and never writes by an entry's path.
    @Test(.enabled(if: isRoot, "requires root"))
    func hostileArchiveEntriesWriteNothingOutside() throws {
        let temp = TempDir()
        defer { temp.remove() }
        let tar = TarBuilder(path: temp.sub("evil.tar"))
        tar.file("../escaped", "pwned")
        tar.file(temp.sub("absolute-escape"), "pwned")
        tar.symlink("blobs", to: temp.path)
        tar.file("blobs/sha256/" + String(repeating: "b", count: 64), "pwned")
        tar.device("dev-null")
        tar.close()
        let store = try ArtifactStore(root: temp.sub("root"))
        let before = snapshot(temp.path)
        #expect(throws: BatonError.self) { try store.importArchive(temp.sub("evil.tar"), name: "evil:1") }
        let added = Set(snapshot(temp.path).keys).subtracting(before.keys)
        #expect(added.allSatisfy { $0 == "root" || $0.hasPrefix("root/") }, "written outside the store: \(added)")
        #expect(!FileManager.default.fileExists(atPath: temp.sub("absolute-escape")))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/escaped"))
        #expect(!FileManager.default.fileExists(atPath: temp.sub("sha256")))
        #expect(FileIO.listDirectory(temp.sub("root/store/blobs/sha256")).isEmpty)
    }

    @Test func referencesParse() throws {
        #expect(try Reference(parsing: "app:1.0") == .tagged(name: "app", version: "1.0"))
        #expect(try Reference(parsing: "team/app:v2") == .tagged(name: "team/app", version: "v2"))
        let hex = String(repeating: "ab", count: 32)
        #expect(try Reference(parsing: "sha256:" + hex) == .digest(Digest("sha256:" + hex)!))
        #expect(try Reference(parsing: "app@sha256:" + hex) == .pinned(name: "app", digest: Digest("sha256:" + hex)!))
        for bad in ["app", "App:1", "app:", ":1", "sha256:abc", "app@sha256:zz", "../x:1", "app:1/2"] {
            #expect(throws: BatonError.self, "\(bad)") { try Reference(parsing: bad) }
        }
    }
}
