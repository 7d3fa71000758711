import BatonOS

extension EgressRule {
    /// The nftables set element for a sandbox at `source`: source . destination . port range.
    func element(from source: IPv4Address) -> String {
        let ports = port.map { "\($0)" } ?? "0-65535"
        return "\(source) . \(network) . \(ports)"
    }
}
