import BatonOS

/// The nftables table of one bridge, `inet baton_<bridge>`: NAT out, nothing new in, the
/// link-local range refused, and per-sandbox allowlists. Sandboxes cannot reach one another
/// either: their bridge ports are isolated (`NetworkLinks.isolatePort`), so frames between
/// them never leave the bridge.
struct Firewall {
    let settings: NetworkSettings

    /// nft identifiers take letters, digits and '_'.
    var table: String {
        "baton_" + String(settings.bridge.map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    /// The whole table, replacing any earlier one in the same transaction (so a daemon killed
    /// with -9 and started again leaves no duplicate), with the elements of `leases`.
    func ruleset(leases: [AddressLeases.Lease]) -> String {
        let bridge = "\"\(settings.bridge)\""
        let subnet = settings.subnet
        let restricted = leases.filter { !$0.egress.isEmpty }
        let sources = restricted.map { "\($0.address)" }
        let allowed = restricted.flatMap { lease in lease.egress.map { $0.element(from: lease.address) } }
        return """
            table inet \(table) { }
            delete table inet \(table)
            table inet \(table) {
              set restricted { type ipv4_addr;\(Self.elements(sources)) }
              set allowed { type ipv4_addr . ipv4_addr . inet_service; flags interval;\(Self.elements(allowed)) }
              chain from_sandboxes {
                ip saddr != \(subnet) drop
                ip saddr @restricted ip saddr . ip daddr . th dport @allowed accept
                ip saddr @restricted drop
                ip daddr 169.254.0.0/16 drop
                accept
              }
              chain forward {
                type filter hook forward priority filter; policy accept;
                oifname \(bridge) ct state established,related accept
                oifname \(bridge) drop
                iifname \(bridge) jump from_sandboxes
              }
              chain input {
                type filter hook input priority filter; policy accept;
                iifname \(bridge) ct state established,related accept
                iifname \(bridge) ip daddr != \(settings.gateway) drop
                iifname \(bridge) jump from_sandboxes
              }
              chain output {
                type filter hook output priority filter; policy accept;
                oifname \(bridge) ct state new drop
              }
              chain postrouting {
                type nat hook postrouting priority srcnat; policy accept;
                ip saddr \(subnet) oifname != \(bridge) masquerade
              }
            }

            """
    }

    /// What admits a restricted sandbox's destinations; nil when it has none.
    func addition(_ lease: AddressLeases.Lease) -> String? {
        guard !lease.egress.isEmpty else { return nil }
        return "add element inet \(table) allowed {\(lease.egress.map { $0.element(from: lease.address) }.joinedPlain(separator: ", "))}\n"
            + "add element inet \(table) restricted { \(lease.address) }\n"
    }

    /// The opposite of `addition`, for a sandbox that is gone.
    func removal(_ lease: AddressLeases.Lease) -> String? {
        guard !lease.egress.isEmpty else { return nil }
        return "delete element inet \(table) restricted { \(lease.address) }\n"
            + "delete element inet \(table) allowed {\(lease.egress.map { $0.element(from: lease.address) }.joinedPlain(separator: ", "))}\n"
    }

    private static func elements(_ values: [String]) -> String {
        values.isEmpty ? "" : " elements = { \(values.joinedPlain(separator: ", ")) };"
    }
}
