import BatonTestSupport
import BatonOS
import Foundation
import Glibc
import Testing
@testable import BatonStore

/// `kill -9` of a publishing `baton` process at several moments: the store must stay valid
/// (the old state or the new) and the next publish must work.
@Suite struct CrashSafetyTests {
    @Test(.enabled(if: isRoot, "requires root"))
    func sigkillMidPublishLeavesAValidStore() throws {
        let binary = try #require(batonBinary, "build the baton product first (swift build), or set BATON_BIN")
        let temp = TempDir()
        defer { temp.remove() }
        let root = temp.sub("root")
        let tree = temp.sub("big")
        try Tree.mkdir(tree)
        var chunk = Data(repeating: 0x5a, count: 2 << 20)
        for index in 0..<48 {
            chunk[index * 4096] = UInt8(index)
            try chunk.write(to: URL(fileURLWithPath: "\(tree)/file\(index).bin"))
        }
        let store = try ArtifactStore(root: root)
        try Tree.sample(at: temp.sub("small"))
        let small = try store.publish("small:1", directory: temp.sub("small")).digest

        var killedMidway = 0
        for delay in [30, 120, 300, 600, 1000] {
            let process = ChildProcess()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["artifact", "publish", "--root", root, "big:1", tree]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(useconds_t(delay * 1000))
            if process.isRunning { killedMidway += 1 }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()

            #expect(try store.verify().isEmpty, "store invalid after SIGKILL at \(delay) ms")
            #expect(try store.resolve("small:1").digest == small)
            if let big = try? store.resolve("big:1") {
                #expect(try store.unpackedLayers(of: big).count == 1)
            }
        }
        #expect(killedMidway > 0, "no publish was killed mid-way; the tree is too small")
        let published = try store.publish("big:1", directory: tree)
        #expect(try store.resolve("big:1").digest == published.digest)
        _ = try store.collectGarbage()
        #expect(FileIO.listDirectory(root + "/store/ingest").isEmpty)
        #expect(try store.verify().isEmpty)
    }
}
