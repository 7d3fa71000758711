import NIOCore

extension SocketAddress {
    /// The address as the forwarding headers and the access log write it, or nil for a Unix
    /// socket. IPv4 is written here: NIO's `ipAddress` goes through glibc's `inet_ntop`, which
    /// formats an IPv4 address with `sprintf` (about 1.7k instructions per client connection,
    /// callgrind). IPv6 goes through it still.
    var clientText: String? {
        guard case .v4(let address) = self else { return ipAddress }
        let value = UInt32(bigEndian: address.address.sin_addr.s_addr)
        return String(unsafeUninitializedCapacity: 15) { text in
            var count = 0
            for shift in stride(from: 24, through: 0, by: -8) {
                let octet = UInt8(truncatingIfNeeded: value >> UInt32(shift))
                if octet >= 100 {
                    text[count] = UInt8(ascii: "0") + octet / 100
                    count += 1
                }
                if octet >= 10 {
                    text[count] = UInt8(ascii: "0") + octet / 10 % 10
                    count += 1
                }
                text[count] = UInt8(ascii: "0") + octet % 10
                count += 1
                if shift > 0 {
                    text[count] = UInt8(ascii: ".")
                    count += 1
                }
            }
            return count
        }
    }
}
