import BatonOS
import FoundationEssentials
import BatonSandbox
import Glibc

/// What `egress` gives one sandbox: an address from the root's subnet (a lease), a veth pair
/// into the bridge (made by the launcher once the sandbox's network namespace exists), its
/// allowlist in the firewall before it can send anything, and `/etc/hosts` and
/// `/etc/resolv.conf` of its own.
public struct SandboxNetworking: Sendable {
    public let bridge: Bridge

    public init(bridge: Bridge) {
        self.bridge = bridge
    }

    public struct Attachment: Sendable {
        public let lease: AddressLeases.Lease
        public let network: SandboxSpec.Network
        public let files: [SandboxSpec.File]
    }

    /// Claims an address for sandbox `id` and admits its egress rules.
    public func attach(id: String, hostname: String, egress: [EgressRule]) throws -> Attachment {
        let settings = bridge.settings
        let leases = AddressLeases(root: bridge.root, settings: settings)
        let lease = try leases.claim(for: id, egress: egress)
        do {
            if let addition = Firewall(settings: settings).addition(lease) {
                do {
                    try NetworkLinks.nft(addition)
                } catch {
                    // The table went missing (flushed by hand, say): write it whole, this lease's
                    // elements included.
                    try bridge.writeFirewall()
                }
            }
        } catch {
            leases.release(lease.address)
            throw BatonError(.setupFailed, "cannot admit the egress rules of sandbox \(id): \(error)", cause: error as? OSError)
        }
        // The link to the host is as wide as loopback; what leaves the host through the default
        // route keeps the Internet's usual MTU.
        let interface = SpawnRequest.Interface(name: "eth0", address: lease.address, prefix: settings.subnet.prefix, gateway: settings.gateway,
                                               routeMTU: Self.outboundMTU)
        let network = SandboxSpec.Network(bridgeIndex: bridge.index, hostInterface: Self.hostInterfaceName(bridge: settings.bridge, id: id),
                                          interface: interface, linkMTU: Self.linkMTU)
        let files = [
            SandboxSpec.File(path: "/etc/hosts", contents: SandboxNetworkFiles.hosts(hostname: hostname, address: lease.address, gateway: settings.gateway)),
            SandboxSpec.File(path: "/etc/resolv.conf", contents: SandboxNetworkFiles.resolvConf()),
        ]
        return Attachment(lease: lease, network: network, files: files)
    }

    /// Gives the address back and takes the sandbox's rules out (it has ended).
    public func detach(_ lease: AddressLeases.Lease) {
        if let removal = Firewall(settings: bridge.settings).removal(lease) { try? NetworkLinks.nft(removal) }
        AddressLeases(root: bridge.root, settings: bridge.settings).release(lease.address)
    }

    /// The veth pair's MTU: the largest a link takes, so traffic between a sandbox and the host
    /// goes in 64 KiB packets as over loopback.
    static let linkMTU: UInt32 = 65535
    /// The path MTU of the default route, out of the host.
    static let outboundMTU: UInt32 = 1500

    /// "bt" and 13 hex digits of the bridge and id: unique on the host, within IFNAMSIZ.
    static func hostInterfaceName(bridge: String, id: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in (bridge + "/" + id).utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        let hex = String(hash & 0x000f_ffff_ffff_ffff, radix: 16)
        return "bt" + String(repeating: "0", count: 13 - hex.count) + hex
    }
}

/// The network files a sandbox sees.
enum SandboxNetworkFiles {
    static func hosts(hostname: String, address: IPv4Address, gateway: IPv4Address) -> String {
        """
        127.0.0.1\tlocalhost
        ::1\tlocalhost ip6-localhost ip6-loopback
        \(address)\t\(hostname)
        \(gateway)\thost.baton.internal

        """
    }

    /// The host's resolvers, as Docker does it: when the host's resolv.conf names only a local
    /// stub (127.0.0.53 of systemd-resolved), the stub's own upstreams, which a sandbox can
    /// reach; `search` and `options` lines kept.
    static func resolvConf(host: String = "/etc/resolv.conf", stubUpstreams: String = "/run/systemd/resolve/resolv.conf") -> String {
        func usable(_ path: String) -> [String] {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
            return text.split(separator: "\n").map { $0.trimmedWhitespace }.filter { line in
                let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard let keyword = words.first else { return false }
                if keyword == "nameserver" {
                    guard words.count >= 2 else { return false }
                    let server = String(words[1])
                    return !server.hasPrefix("127.") && server != "::1"
                }
                return keyword == "search" || keyword == "options"
            }
        }
        var lines = usable(host)
        if !lines.contains(where: { $0.hasPrefix("nameserver") }) { lines = usable(stubUpstreams) }
        return lines.isEmpty ? "" : lines.joinedPlain(separator: "\n") + "\n"
    }
}
