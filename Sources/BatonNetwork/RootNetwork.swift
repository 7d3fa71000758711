import BatonOS
import BatonSandbox
import FoundationEssentials
import Glibc

/// A root's sandbox network as an operator sees it (`baton network inspect`), and its removal
/// (`baton network rm`): the bridge, its firewall table, the host-wide subnet registration,
/// the saved settings and the leases, all of which a throwaway root would otherwise leave on
/// the host after `rm -rf`.
public enum RootNetwork {
    public struct Status: Encodable, Sendable {
        public let bridge: String
        public let subnet: String
        /// The bridge's address: `host.baton.internal` inside sandboxes.
        public let gateway: String
        /// Whether the bridge exists now (it is made by the daemon at start, or by the first
        /// `baton run --network egress`).
        public let up: Bool
        public let firewallTable: String
        public let sandboxes: [Member]
    }

    public struct Member: Encodable, Sendable {
        public let sandbox: String
        public let address: String
        /// The sandbox's `--egress-allow` list; empty means anywhere but the link-local range.
        public let egressAllow: [String]
    }

    /// Nil when the root has never had a sandbox network.
    public static func status(root: String) throws -> Status? {
        guard let settings = try NetworkSettings.read(root: root) else { return nil }
        let leases = AddressLeases(root: root, settings: settings)
        let isRunning = SandboxLiveness.isRunning(root: root)
        let members = leases.all().filter { isRunning($0.sandbox) }.sorted { $0.address.value < $1.address.value }
        return Status(
            bridge: settings.bridge, subnet: settings.subnet.description, gateway: settings.gateway.description,
            up: access("/sys/class/net/\(settings.bridge)", F_OK) == 0, firewallTable: "inet " + Firewall(settings: settings).table,
            sandboxes: members.map { Member(sandbox: $0.sandbox, address: $0.address.description, egressAllow: $0.egress.map(\.description)) })
    }

    /// Removes everything of the root's sandbox network; refused while the root's daemon runs
    /// (it would make the network again for its next sandbox) or a sandbox holds an address.
    /// Returns the settings it removed, nil when there was nothing.
    @discardableResult
    public static func remove(root: String) throws -> NetworkSettings? {
        guard let settings = try NetworkSettings.read(root: root) else { return nil }
        let daemonLock: RootLock
        do {
            daemonLock = try RootLock.acquire(root: root)
        } catch let error as BatonError where error.code == .conflict {
            throw BatonError(.conflict, "the daemon of \(root) is running: stop it before removing its sandbox network")
        }
        defer { daemonLock.release() }
        let lock = try HostNetworkLock.acquire()
        defer { lock.release() }
        let leases = AddressLeases(root: root, settings: settings)
        leases.reclaimStale(isRunning: SandboxLiveness.isRunning(root: root))
        let held = leases.all()
        guard held.isEmpty else {
            let names = held.map(\.sandbox).sorted().joinedPlain(separator: ", ")
            throw BatonError(.conflict, "sandboxes still use \(settings.bridge): \(names); stop them first")
        }
        try tearDown(settings, alias: Bridge.aliasText(root))
        unlink(NetworkSettings.path(root: root))
        unlink(NetworkSettings.registryPath(bridge: settings.bridge))
        // The leases' directory under /run, and the root's runtime directory when nothing else
        // is in it (rmdir removes only empty ones).
        rmdir(leases.directory)
        rmdir(SandboxLayer.directory(root: root))
        rmdir(RuntimeDirectory.path(root: root))
        return settings
    }

    /// Deletes the bridge (only if its alias says it is `alias`'s) and its firewall table.
    static func tearDown(_ settings: NetworkSettings, alias: String) throws {
        let name = settings.bridge
        let current = (try? String(contentsOfFile: "/sys/class/net/\(name)/ifalias", encoding: .utf8))?.trimmedWhitespace
        if let current {
            guard current == alias else {
                throw BatonError(.conflict, "the interface \(name) is not this root's bridge (its alias is '\(current)'): left as it is")
            }
            do throws(OSError) {
                try NetworkLinks.delete(name)
            } catch {
                throw BatonError(.setupFailed, "cannot delete the bridge \(name): \(error.description)", cause: error)
            }
        }
        let table = Firewall(settings: settings).table
        // `table … { }` first makes the delete succeed whether or not the table is there.
        do throws(OSError) {
            try NetworkLinks.nft("table inet \(table) { }\ndelete table inet \(table)\n")
        } catch {
            throw BatonError(.setupFailed, "cannot delete the firewall table inet \(table): \(error.description)", cause: error)
        }
    }
}
