import NIOCore

/// verify: the proxy's token and the address `--verify`'s load connects to.
extension Daemon {
    /// 32 random hex digits.
    static func verifyToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(generator.next() as UInt32, radix: 16).leftPadded(8) }.joined()
    }

    /// The proxy's listener as a client reaches it: a wildcard address means loopback.
    static func verifyEndpoint(_ address: SocketAddress) -> VerifyConnection.Endpoint {
        let ip = address.ipAddress ?? "127.0.0.1"
        let reachable = ip == "0.0.0.0" ? "127.0.0.1" : ip == "::" ? "::1" : ip
        return VerifyConnection.Endpoint(ip: reachable, port: address.port ?? 0)
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
