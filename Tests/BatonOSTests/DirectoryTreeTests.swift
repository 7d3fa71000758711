import BatonOS
import Foundation
import Glibc
import Testing

/// Walking an app's files by descriptors: links are never followed, any name is handled.
@Suite struct DirectoryTreeTests {
    @Test func sizeCountsRegularFilesAndRemoveTakesEverythingButWhatLinksPointAt() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("baton-tree-\(UUID().uuidString.prefix(8))").path
        let tree = base + "/tree", outside = base + "/outside"
        try FileManager.default.createDirectory(atPath: tree + "/a/b/c", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        try Data(count: 1000).write(to: URL(fileURLWithPath: tree + "/a/one"))
        try Data(count: 24).write(to: URL(fileURLWithPath: tree + "/a/b/c/two"))
        try Data(count: 5000).write(to: URL(fileURLWithPath: outside + "/big"))
        symlink(outside, tree + "/a/link-to-dir")
        symlink(outside + "/big", tree + "/link-to-file")
        // A name that is not UTF-8: removed by its bytes, not by a lossy spelling of them.
        let name: [CChar] = Array((tree + "/a/").utf8CString.dropLast()) + [CChar(bitPattern: 0xff), CChar(bitPattern: 0xfe), 0]
        let fd = open(name, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
        #expect(fd >= 0)
        _ = write(fd, "abc", 3)
        close(fd)

        #expect(try DirectoryTree.size(tree) == 1027)
        try DirectoryTree.remove(tree)
        #expect(!FileManager.default.fileExists(atPath: tree))
        #expect(FileManager.default.fileExists(atPath: outside + "/big"))
        // Gone already: no error.
        try DirectoryTree.remove(tree)
    }
}
