import BatonTestSupport
import BatonOS
import CArchive
import Foundation
import Glibc
import Testing
@testable import BatonStore

/// Attacks through a layer's tar entries. Each must refuse the whole layer with an error naming
/// the entry, write nothing outside, and leave no unpacked layer behind.
@Suite struct HostileLayerTests {
    struct Attack: CustomTestStringConvertible, Sendable {
        let name: String
        let entry: String
        let build: @Sendable (TarBuilder, String) -> Void
        var testDescription: String { name }
    }

    static let attacks: [Attack] = [
        Attack(name: "dot-dot path", entry: "../escaped") { tar, _ in tar.file("../escaped", "pwned") },
        Attack(name: "dot-dot inside a path", entry: "a/../../escaped") { tar, _ in
            tar.directory("a")
            tar.file("a/../../escaped", "pwned")
        },
        Attack(name: "absolute path", entry: "/escaped") { tar, outside in tar.file(outside + "/escaped", "pwned") },
        Attack(name: "write through a symlink", entry: "link/escaped") { tar, outside in
            tar.symlink("link", to: outside)
            tar.file("link/escaped", "pwned")
        },
        Attack(name: "write through a relative symlink", entry: "up/escaped") { tar, _ in
            tar.symlink("up", to: "../../..")
            tar.file("up/escaped", "pwned")
        },
        Attack(name: "hard link to outside by dot-dot", entry: "stolen") { tar, _ in tar.hardlink("stolen", to: "../../secret") },
        Attack(name: "hard link to an absolute path", entry: "stolen") { tar, outside in tar.hardlink("stolen", to: outside + "/secret") },
        Attack(name: "hard link through a symlink", entry: "stolen") { tar, outside in
            tar.symlink("link", to: outside)
            tar.hardlink("stolen", to: "link/secret")
        },
        Attack(name: "character device", entry: "dev/mem") { tar, _ in tar.device("dev/mem") },
        Attack(name: "block device", entry: "dev/sda") { tar, _ in tar.device("dev/sda", kind: BT_ENTRY_BLOCK_DEVICE) },
    ]

    @Test(.enabled(if: isRoot, "requires root"), arguments: attacks)
    func hostileEntryRefusesTheWholeLayer(_ attack: Attack) throws {
        let temp = TempDir()
        defer { temp.remove() }
        let outside = temp.sub("outside")
        try Tree.write(outside + "/secret", "secret")
        let store = try ArtifactStore(root: temp.sub("root"))
        let layer = temp.sub("layer.tar")
        let tar = TarBuilder(path: layer)
        tar.file("innocent", "fine")
        attack.build(tar, outside)
        tar.close()
        try makeOCIArchive(at: temp.sub("image.tar"), layers: [(layer, MediaType.layerTar)], refName: "evil:1", work: temp.path)
        _ = try store.importArchive(temp.sub("image.tar"))
        let artifact = try store.resolve("evil:1")
        let before = snapshot(temp.path)

        let error = #expect(throws: BatonError.self) { try store.unpackedLayers(of: artifact) }
        #expect(error?.message.contains("refusing layer") == true)
        #expect(error?.message.contains("'\(attack.entry)'") == true || error?.message.contains(attack.entry) == true)
        // Nothing written anywhere: outside stays as it was, no layer directory (final or temp).
        #expect(snapshot(temp.path) == before)
        #expect(FileIO.listDirectory(temp.sub("root/layers")).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: temp.sub("escaped")))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/escaped"))
        #expect(try String(contentsOfFile: outside + "/secret", encoding: .utf8) == "secret")
    }

    @Test(.enabled(if: isRoot, "requires root"))
    func whiteoutsBecomeOverlayWhiteouts() throws {
        let temp = TempDir()
        defer { temp.remove() }
        let store = try ArtifactStore(root: temp.sub("root"))
        let layer = temp.sub("layer.tar")
        let tar = TarBuilder(path: layer)
        tar.directory("etc")
        tar.file("etc/.wh.removed.conf", "")
        tar.directory("var/cache")
        tar.file("var/cache/.wh..wh..opq", "")
        tar.file("var/cache/kept", "new")
        tar.symlink("bin", to: "usr/bin")
        tar.hardlink("var/cache/kept-too", to: "var/cache/kept")
        tar.close()
        try makeOCIArchive(at: temp.sub("image.tar"), layers: [(layer, MediaType.layerTar)], refName: "wh:1", work: temp.path)
        _ = try store.importArchive(temp.sub("image.tar"))
        let directory = try store.unpackedLayers(of: try store.resolve("wh:1"))[0]

        var info = stat()
        #expect(lstat(directory + "/etc/removed.conf", &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFCHR)
        #expect(info.st_rdev == 0)
        #expect(!FileManager.default.fileExists(atPath: directory + "/etc/.wh.removed.conf"))
        var value = [CChar](repeating: 0, count: 8)
        let length = bt_lgetxattr(directory + "/var/cache", "trusted.overlay.opaque", &value, value.count)
        #expect(length == 1 && value[0] == CChar(UInt8(ascii: "y")))
        #expect(!FileManager.default.fileExists(atPath: directory + "/var/cache/.wh..wh..opq"))
        #expect(try String(contentsOfFile: directory + "/var/cache/kept-too", encoding: .utf8) == "new")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: directory + "/bin") == "usr/bin")
    }
}
