/// One `--egress-allow CIDR[:PORT]`: a destination a sandbox may reach. An app with any such
/// rule reaches only those destinations (the host's bridge address included); one with none
/// reaches anything but the link-local range (cloud metadata at 169.254.169.254), unless an
/// explicit rule names it.
public struct EgressRule: Hashable, Sendable, CustomStringConvertible {
    public let network: IPv4Network
    /// nil: every port.
    public let port: UInt16?

    public init(network: IPv4Network, port: UInt16?) {
        self.network = network
        self.port = port
    }

    /// "10.0.0.0/8", "192.0.2.10:5432", "0.0.0.0/0:443"; nil for anything else.
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let network = IPv4Network(parts[0]) else { return nil }
        var port: UInt16?
        if parts.count == 2 {
            guard let number = UInt16(parts[1]), number > 0, parts[1].first != "+" else { return nil }
            port = number
        }
        self.init(network: network, port: port)
    }

    public var description: String { port.map { "\(network):\($0)" } ?? network.description }
}
