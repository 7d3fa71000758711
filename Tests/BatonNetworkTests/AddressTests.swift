import Foundation
import BatonOS
import Testing
@testable import BatonNetwork

/// Addresses, networks and egress rules as users type them.
@Suite struct AddressTests {
    @Test func addressesParseOnlyInTheirPlainForm() {
        #expect(IPv4Address("10.88.0.1")?.description == "10.88.0.1")
        for bad in ["10.88.0", "10.88.0.256", "10.088.0.1", "a.b.c.d", "1.2.3.4.5", "", "1..2.3", " 1.2.3.4"] {
            #expect(IPv4Address(bad) == nil, "\(bad)")
        }
    }

    @Test func networksNeedZeroHostBits() {
        #expect(IPv4Network("10.88.0.0/24")?.description == "10.88.0.0/24")
        #expect(IPv4Network("192.0.2.10")?.prefix == 32)
        for bad in ["10.88.0.1/24", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/", "nope"] {
            #expect(IPv4Network(bad) == nil, "\(bad)")
        }
        let subnet = IPv4Network("10.88.0.0/24")!
        #expect(subnet.contains(IPv4Address("10.88.0.200")!))
        #expect(!subnet.contains(IPv4Address("10.88.1.0")!))
        #expect(subnet.overlaps(IPv4Network("10.0.0.0/8")!))
        #expect(!subnet.overlaps(IPv4Network("10.89.0.0/16")!))
    }

    @Test func egressRulesAreCIDRWithAnOptionalPort() {
        #expect(EgressRule(parsing: "10.0.0.0/8")?.description == "10.0.0.0/8")
        #expect(EgressRule(parsing: "192.0.2.10:5432")?.port == 5432)
        #expect(EgressRule(parsing: "192.0.2.10:5432")?.element(from: IPv4Address("10.88.0.2")!) == "10.88.0.2 . 192.0.2.10/32 . 5432")
        #expect(EgressRule(parsing: "0.0.0.0/0")?.element(from: IPv4Address("10.88.0.2")!) == "10.88.0.2 . 0.0.0.0/0 . 0-65535")
        for bad in ["example.com", "10.0.0.1/8", "10.0.0.0/8:0", "10.0.0.0/8:70000", "10.0.0.0/8:http", "::1", "10.0.0.0/8:80:90"] {
            #expect(EgressRule(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func aSubnetIsChosenClearOfTheHostsRoutes() throws {
        let routes = [IPv4Network("10.88.0.0/24")!, IPv4Network("10.88.1.0/24")!, IPv4Network("10.88.2.0/23")!, IPv4Network("10.0.0.0/16")!]
        #expect(try NetworkSettings.choose(avoiding: routes).description == "10.88.4.0/24")
        #expect(try NetworkSettings.choose(avoiding: []).description == "10.88.0.0/24")
    }

    @Test func hostInterfaceNamesFitAndDiffer() {
        let a = SandboxNetworking.hostInterfaceName(bridge: "baton0", id: "web-1234abcd")
        let b = SandboxNetworking.hostInterfaceName(bridge: "baton1", id: "web-1234abcd")
        #expect(a.utf8.count == 15 && a.hasPrefix("bt"))
        #expect(a != b)
    }

    @Test func resolversSkipALocalStubForItsUpstreams() throws {
        let directory = "/tmp/baton-resolv-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "nameserver 127.0.0.53\noptions edns0\nsearch corp\n".write(toFile: directory + "/stub", atomically: true, encoding: .utf8)
        try "nameserver 192.0.2.53\nnameserver 127.0.0.1\nsearch corp\n".write(toFile: directory + "/up", atomically: true, encoding: .utf8)
        #expect(SandboxNetworkFiles.resolvConf(host: directory + "/stub", stubUpstreams: directory + "/up") == "nameserver 192.0.2.53\nsearch corp\n")
        try "nameserver 198.51.100.1\n".write(toFile: directory + "/direct", atomically: true, encoding: .utf8)
        #expect(SandboxNetworkFiles.resolvConf(host: directory + "/direct", stubUpstreams: directory + "/up") == "nameserver 198.51.100.1\n")
    }
}
