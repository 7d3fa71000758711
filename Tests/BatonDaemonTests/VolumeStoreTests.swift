import BatonControl
import BatonOS
@testable import BatonDaemon
import Foundation
import Glibc
import Testing

/// The volume directories themselves: who owns them, what is refused, and that a volume a
/// starting sandbox has claimed is never removed.
@Suite(.enabled(if: geteuid() == 0, "requires root"))
struct VolumeStoreTests {
    static func app(_ volumes: [AppVolume]) -> AppInfo {
        AppInfo(name: "web", hosts: ["web.test"], kind: .sandbox, healthStatus: 200, healthTimeout: 30, drainTimeout: 30, env: [],
                createdAt: "", inFlight: 0, volumes: volumes)
    }

    static func withRoot(_ body: (String) throws -> Void) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("baton-volumes-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try body(root)
    }

    static func owner(_ path: String) -> (uid: UInt32, gid: UInt32, mode: UInt32)? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return (info.st_uid, info.st_gid, info.st_mode & 0o7777)
    }

    @Test func aVolumeIsMadeForTheProgramsIdsAndKeepsThemAfterwards() throws {
        try Self.withRoot { root in
            let store = VolumeStore(root: root)
            let claim = try store.claim(Self.app([AppVolume(name: "data", path: "/data"), AppVolume(name: "conf", path: "/conf", readOnly: true)]),
                                        owner: (1000, 1001))
            store.release(claim)
            #expect(claim.keys == ["web/data", "web/conf"])
            #expect(claim.binds.map(\.target) == ["/data", "/conf"])
            #expect(claim.binds.map(\.readOnly) == [false, true])
            let data = try #require(Self.owner(root + "/volumes/web/data"))
            #expect(data.uid == 1000 && data.gid == 1001 && data.mode == 0o700)
            for parent in [root + "/volumes", root + "/volumes/web"] {
                let info = try #require(Self.owner(parent))
                #expect(info.uid == 0 && info.mode == 0o700, "\(parent)")
            }
            // A later artifact running as another user finds the volume as it was.
            store.release(try store.claim(Self.app([AppVolume(name: "data", path: "/data")]), owner: (0, 0)))
            #expect(Self.owner(root + "/volumes/web/data")?.uid == 1000)
        }
    }

    /// Attack: a symbolic link where a volume's directory should be (planted by hand, or left
    /// by anything but Baton) is never followed or bound.
    @Test func aLinkInPlaceOfAVolumeIsRefused() throws {
        try Self.withRoot { root in
            try FileManager.default.createDirectory(atPath: root + "/volumes/web", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: root + "/elsewhere", withIntermediateDirectories: true)
            symlink(root + "/elsewhere", root + "/volumes/web/data")
            let store = VolumeStore(root: root)
            #expect(throws: BatonError.self) { try store.claim(Self.app([AppVolume(name: "data", path: "/data")]), owner: (1000, 1000)) }
            #expect(Self.owner(root + "/elsewhere")?.uid == 0)
            #expect(store.list(inUse: [:]).isEmpty)
        }
    }

    @Test func aVolumeClaimedByAStartingSandboxIsNotRemoved() throws {
        try Self.withRoot { root in
            let store = VolumeStore(root: root)
            let claim = try store.claim(Self.app([AppVolume(name: "data", path: "/data")]), owner: (0, 0))
            #expect(store.list(inUse: [:]).first?.inUse == true)
            let error = #expect(throws: BatonError.self) { try store.remove(["web/data"], inUse: { [:] }) }
            #expect(error?.code == .conflict)
            store.release(claim)
            #expect(throws: BatonError.self) { try store.remove(["web/data"], inUse: { ["web/data": "web-1"] }) }
            try store.remove(["web/data"], inUse: { [:] })
            #expect(!FileManager.default.fileExists(atPath: root + "/volumes/web"))
        }
    }
}
