@testable import BatonSandbox
import Foundation
import Glibc
import Testing

/// A launch sweeps what dead launchers left, but never a directory another launcher has just
/// made and not yet locked (the race 64 concurrent launches found).
@Suite(.enabled(if: geteuid() == 0, "requires root")) struct SandboxSweepTests {
    @Test func aNewEmptyDirectoryIsLeftAloneAndARecordedOneIsSwept() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("baton-sweep-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fresh = SandboxDirectory.path(root: root, id: "fresh")
        try FileManager.default.createDirectory(atPath: fresh, withIntermediateDirectories: true)

        SandboxDirectory.sweepStale(root: root)
        #expect(FileManager.default.fileExists(atPath: fresh), "a launcher may be between its mkdir and its flock")

        // With a record and no lock, it is a dead launcher's.
        #expect(FileManager.default.createFile(atPath: fresh + "/" + SandboxRecord.fileName, contents: Data("{}".utf8)))
        SandboxDirectory.sweepStale(root: root)
        #expect(!FileManager.default.fileExists(atPath: fresh))
    }

    @Test func aLockedDirectoryIsNeverSwept() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("baton-sweep-\(UUID().uuidString.prefix(8))").path
        defer {
            // The directory lives on the sandboxes' tmpfs, which its removal unmounts; a sandbox
            // another test is starting can hold it a moment longer: the next removal's retry.
            SandboxesTmpfs.release(root: root)
            #expect(!SandboxesTmpfs.isMounted(root: root), "the sandboxes' tmpfs was left mounted")
            try? FileManager.default.removeItem(atPath: root)
        }
        let (directory, lockFD) = try SandboxDirectory.create(root: root, id: "held")
        defer { SandboxDirectory.remove(directory, lockFD: lockFD) }
        #expect(FileManager.default.createFile(atPath: directory + "/" + SandboxRecord.fileName, contents: Data("{}".utf8)))
        SandboxDirectory.sweepStale(root: root)
        #expect(FileManager.default.fileExists(atPath: directory))
    }
}
