import BatonTestSupport
import BatonOS
import Foundation
import Testing
@testable import BatonStore

/// skopeo and umoci (Debian packages) as the outside readers and writers.
@Suite struct InteropTests {
    @Test(.enabled(if: isRoot && which("skopeo") != nil, "requires root and skopeo"))
    func skopeoReadsOurStoreAndExportsAndWeImportItsArchives() throws {
        let temp = TempDir()
        defer { temp.remove() }
        let store = try ArtifactStore(root: temp.sub("root"))
        try Tree.sample(at: temp.sub("app"))
        let digest = try store.publish("app:1", directory: temp.sub("app")).digest
        let skopeo = which("skopeo")!

        let fromStore = try runProgram(skopeo, ["inspect", "oci:\(store.storePath):app:1"])
        #expect(fromStore.status == 0, "\(fromStore.stderr)")
        #expect(fromStore.stdout.contains(digest))

        try store.exportArchive("app:1", to: temp.sub("app.tar"))
        let inspected = try runProgram(skopeo, ["inspect", "oci-archive:\(temp.sub("app.tar"))"])
        #expect(inspected.status == 0, "\(inspected.stderr)")
        #expect(inspected.stdout.contains(digest))
        // skopeo copy verifies every blob it reads.
        let copied = try runProgram(skopeo, ["copy", "oci-archive:\(temp.sub("app.tar"))", "oci:\(temp.sub("layout")):copy"])
        #expect(copied.status == 0, "\(copied.stderr)")

        // An archive skopeo writes, with gzip layers, imports and unpacks.
        let written = try runProgram(skopeo, [
            "copy", "--dest-compress", "--dest-compress-format", "gzip",
            "oci:\(store.storePath):app:1", "oci-archive:\(temp.sub("gz.tar")):app:gz",
        ])
        #expect(written.status == 0, "\(written.stderr)")
        let other = try ArtifactStore(root: temp.sub("other"))
        let imported = try other.importArchive(temp.sub("gz.tar"), name: "app:gz")
        let layers = try other.unpackedLayers(of: other.resolve(imported.digest))
        #expect(FileManager.default.fileExists(atPath: layers[0] + "/bin/app"))
    }

    @Test(.enabled(if: isRoot && which("umoci") != nil, "requires root and umoci"))
    func umociUnpacksOurStoreAndWritesWhatWeImport() throws {
        let temp = TempDir()
        defer { temp.remove() }
        let store = try ArtifactStore(root: temp.sub("root"))
        try Tree.sample(at: temp.sub("app"))
        _ = try store.publish("app:1", directory: temp.sub("app"))
        let umoci = which("umoci")!
        let unpacked = try runProgram(umoci, ["unpack", "--image", "\(store.storePath):app:1", temp.sub("bundle")])
        #expect(unpacked.status == 0, "\(unpacked.stderr)")
        #expect(try String(contentsOfFile: temp.sub("bundle/rootfs/etc/app.conf"), encoding: .utf8) == "port=8080\n")

        // umoci writes a layout (gzip layers); tar it up as an OCI archive and import.
        let layout = temp.sub("umoci-layout")
        #expect(try runProgram(umoci, ["init", "--layout", layout]).status == 0)
        #expect(try runProgram(umoci, ["new", "--image", "\(layout):v1"]).status == 0)
        #expect(try runProgram(umoci, ["unpack", "--image", "\(layout):v1", temp.sub("bundle2")]).status == 0)
        try Tree.write(temp.sub("bundle2/rootfs/hello.txt"), "from umoci")
        #expect(try runProgram(umoci, ["repack", "--image", "\(layout):v1", temp.sub("bundle2")]).status == 0)
        let tarred = try runProgram("/usr/bin/tar", ["-C", layout, "-cf", temp.sub("umoci.tar"), "."])
        #expect(tarred.status == 0)
        let other = try ArtifactStore(root: temp.sub("other"))
        let imported = try other.importArchive(temp.sub("umoci.tar"), name: "umoci:1")
        let layers = try other.unpackedLayers(of: other.resolve(imported.digest))
        #expect(layers.contains { FileManager.default.fileExists(atPath: $0 + "/hello.txt") })
    }
}
