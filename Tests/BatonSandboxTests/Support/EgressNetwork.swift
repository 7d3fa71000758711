import BatonTestSupport
import Foundation

/// A root's sandbox network as tests see it: its bridge and subnet (from the root's
/// `network/settings`), and the clean-up no test may skip: the bridge, its firewall table and
/// its host-wide subnet registration.
struct EgressNetwork {
    let bridge: String
    let subnet: String
    let gateway: String

    init(root: String) throws {
        let lines = try String(contentsOfFile: root + "/network/settings", encoding: .utf8).split(separator: "\n").map(String.init)
        bridge = lines[0]
        subnet = lines[1]
        let octets = subnet.split(separator: "/")[0].split(separator: ".").compactMap { Int($0) }
        gateway = "\(octets[0]).\(octets[1]).\(octets[2]).\(octets[3] + 1)"
    }

    static func remove(root: String) {
        guard let network = try? EgressNetwork(root: root) else { return }
        let table = "baton_" + String(network.bridge.map { $0.isLetter || $0.isNumber ? $0 : "_" })
        shell("ip link del \(network.bridge) 2>/dev/null; nft delete table inet \(table) 2>/dev/null; rm -f /run/baton-subnets/\(network.bridge)")
    }
}
