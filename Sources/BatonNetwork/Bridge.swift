import BatonOS
import FoundationEssentials
import Glibc

/// The host's side of a root's sandbox network: the bridge with the gateway address, IPv4
/// forwarding, and the firewall table. Made idempotently: a bridge that exists is reused if it
/// is this root's (its alias names the root) and refused if it is another's.
public struct Bridge: Sendable {
    public let root: String
    public let settings: NetworkSettings
    /// The bridge's ifindex.
    public let index: Int32

    /// Makes sure the bridge, its address and forwarding are there. With `firewall`, also
    /// (re)writes the firewall table, with the egress elements of every current lease: the
    /// daemon does at start; `baton run` only when the bridge is new.
    public static func ensure(root: String, settings: NetworkSettings, firewall force: Bool = false) throws -> Bridge {
        let name = settings.bridge
        let aliasPath = "/sys/class/net/\(name)/ifalias"
        let existed = access("/sys/class/net/\(name)", F_OK) == 0
        if existed {
            let alias = ((try? String(contentsOfFile: aliasPath, encoding: .utf8)) ?? "").trimmedWhitespace
            guard alias == aliasText(root) else {
                throw BatonError(.conflict, "the interface \(name) exists and is not this root's bridge (its alias is '\(alias)'): choose another with baton daemon --bridge")
            }
        }
        let index: Int32
        do throws(OSError) {
            // This root's bridge, made before: `baton run` only needs its index. (The daemon
            // always goes through the whole setup at start.)
            if existed && !force {
                return Bridge(root: root, settings: settings, index: try NetworkLinks.index(of: name))
            }
            index = try NetworkLinks.ensureBridge(name)
            if !existed { try writeFile(aliasPath, aliasText(root)) }
            // A bridge takes the lowest address of its ports unless given one. When the port
            // that lent it goes (blue's, after a swap), the gateway's address changes under
            // the sandboxes that remain, and their traffic goes to the old one until their ARP
            // entry expires: half a minute with no way out. So the address is fixed, as it is
            // now (a running sandbox already knows it).
            try NetworkLinks.pinAddress(of: index, name: name)
            try NetworkLinks.addAddress(settings.gateway, prefix: settings.subnet.prefix, to: index, name: name)
            try NetworkLinks.setUp(index, name: name)
            try writeFile("/proc/sys/net/ipv4/ip_forward", "1")
        } catch {
            throw BatonError(.setupFailed, "cannot set up the sandbox network on \(name): \(error.description)", cause: error)
        }
        let bridge = Bridge(root: root, settings: settings, index: index)
        if force || !existed { try bridge.writeFirewall() }
        return bridge
    }

    static func aliasText(_ root: String) -> String { "baton \(root)" }

    /// The whole table, with every live lease's elements; stale leases are dropped first.
    public func writeFirewall() throws {
        let leases = AddressLeases(root: root, settings: settings)
        leases.reclaimStale(isRunning: SandboxLiveness.isRunning(root: root))
        do throws(OSError) {
            try NetworkLinks.nft(Firewall(settings: settings).ruleset(leases: leases.all()))
        } catch {
            throw BatonError(.setupFailed, "cannot write the firewall of \(settings.bridge): \(error.description)", cause: error)
        }
    }

    private static func writeFile(_ path: String, _ text: String) throws(OSError) {
        let fd = try sys("open \(path)") { open(path, O_WRONLY | O_CLOEXEC) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        try sys("write \(path)") { write(fd, bytes, bytes.count) }
    }
}
