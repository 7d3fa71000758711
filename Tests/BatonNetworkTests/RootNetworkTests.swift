import BatonOS
import Foundation
import Glibc
import Testing
@testable import BatonNetwork

/// A root's network made and removed whole: the bridge, its firewall table, the subnet's
/// registration and the saved settings; and a root that was deleted without `network rm`
/// gives its bridge back the next time any root chooses a subnet.
@Suite(.serialized, .enabled(if: geteuid() == 0, "requires root"))
struct RootNetworkTests {
    static func scratchRoot() throws -> String {
        let root = "/tmp/baton-rootnet-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        return root
    }

    static func tableExists(_ settings: NetworkSettings) -> Bool {
        (try? NetworkLinks.nft("list table inet \(Firewall(settings: settings).table)")) != nil
    }

    static func made(root: String) throws -> NetworkSettings {
        let settings = try NetworkSettings.load(root: root)
        _ = try Bridge.ensure(root: root, settings: settings, firewall: true)
        return settings
    }

    @Test func removeTakesEverythingAndIsRefusedWhileASandboxHoldsAnAddress() throws {
        let root = try Self.scratchRoot()
        defer { _ = try? RootNetwork.remove(root: root); try? FileManager.default.removeItem(atPath: root) }
        let settings = try Self.made(root: root)
        let status = try #require(try RootNetwork.status(root: root))
        #expect(status.up && status.bridge == settings.bridge && status.gateway == settings.gateway.description)
        #expect(Self.tableExists(settings))

        // A lease whose sandbox holds its directory locked counts as running (a launcher
        // between its lease and its record).
        let id = "holder-1"
        try FileManager.default.createDirectory(atPath: "\(root)/sandboxes/\(id)", withIntermediateDirectories: true)
        let held = open("\(root)/sandboxes/\(id)", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        #expect(flock(held, LOCK_EX) == 0)
        _ = try AddressLeases(root: root, settings: settings).claim(for: id, egress: [])
        #expect(try RootNetwork.status(root: root)?.sandboxes.map(\.sandbox) == [id])
        #expect(throws: BatonError.self) { try RootNetwork.remove(root: root) }
        #expect(access("/sys/class/net/\(settings.bridge)", F_OK) == 0, "a refusal changes nothing")
        close(held)

        #expect(try RootNetwork.remove(root: root) == settings, "the sandbox is gone: its lease is stale")
        #expect(access("/sys/class/net/\(settings.bridge)", F_OK) != 0)
        #expect(!Self.tableExists(settings))
        #expect(access(NetworkSettings.registryPath(bridge: settings.bridge), F_OK) != 0)
        #expect(try RootNetwork.status(root: root) == nil)
        #expect(try RootNetwork.remove(root: root) == nil)
    }

    @Test func removeIsRefusedWhileTheRootsDaemonHoldsItsLock() throws {
        let root = try Self.scratchRoot()
        defer { _ = try? RootNetwork.remove(root: root); try? FileManager.default.removeItem(atPath: root) }
        let settings = try Self.made(root: root)
        let daemon = try RootLock.acquire(root: root)
        #expect(throws: BatonError.self) { try RootNetwork.remove(root: root) }
        #expect(access("/sys/class/net/\(settings.bridge)", F_OK) == 0)
        daemon.release()
        #expect(try RootNetwork.remove(root: root) != nil)
    }

    @Test func aDeletedRootsBridgeGoesWhenAnotherRootChoosesASubnet() throws {
        let gone = try Self.scratchRoot()
        let settings = try Self.made(root: gone)
        defer {
            try? RootNetwork.tearDown(settings, alias: Bridge.aliasText(gone))
            unlink(NetworkSettings.registryPath(bridge: settings.bridge))
        }
        try FileManager.default.removeItem(atPath: gone)
        let other = try Self.scratchRoot()
        defer { _ = try? RootNetwork.remove(root: other); try? FileManager.default.removeItem(atPath: other) }
        _ = try NetworkSettings.load(root: other)
        #expect(access("/sys/class/net/\(settings.bridge)", F_OK) != 0)
        #expect(!Self.tableExists(settings))
        #expect(access(NetworkSettings.registryPath(bridge: settings.bridge), F_OK) != 0)
    }
}
