import NIOCore
import Testing

@testable import BatonProxy

/// The client's address as the forwarding headers write it: Baton's own IPv4 text must be
/// exactly what `inet_ntop` (NIO's `ipAddress`) writes, for every width of octet.
@Suite struct ClientAddressTextTests {
    @Test(arguments: [
        "0.0.0.0", "255.255.255.255", "127.0.0.1", "10.0.0.1", "192.168.100.9", "1.20.255.0", "100.10.1.199",
        "9.99.100.250",
    ])
    func ipv4IsWhatInetNtopWrites(_ text: String) throws {
        let address = try SocketAddress(ipAddress: text, port: 40000)
        #expect(address.clientText == text)
        #expect(address.clientText == address.ipAddress)
    }

    @Test func everyOctetValueMatchesInetNtop() throws {
        for octet in 0...255 {
            let address = try SocketAddress(ipAddress: "\(octet).\(255 - octet).\(octet / 2).7", port: 1)
            #expect(address.clientText == address.ipAddress)
        }
    }

    @Test func ipv6AndUnixSocketsAreNIOs() throws {
        let v6 = try SocketAddress(ipAddress: "2001:db8::1", port: 443)
        #expect(v6.clientText == "2001:db8::1")
        let unix = try SocketAddress(unixDomainSocketPath: "/tmp/baton-test.sock")
        #expect(unix.clientText == nil)
    }
}
