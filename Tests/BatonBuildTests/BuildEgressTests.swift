import BatonTestSupport
import Foundation
import Testing

/// `baton build --network egress`: RUN reaches the host through the root's bridge, as
/// `baton run --network egress` does; without the flag it has loopback only. Traffic goes
/// only to a server this test starts on the bridge's address.
@Suite(.enabled(if: isRoot, "requires root (sandboxes, a bridge)"))
struct BuildEgressTests {
    @Test func runReachesTheHostOnlyWithEgress() throws {
        let fixture = BuildFixture()
        defer {
            Self.removeNetwork(root: fixture.root)
            fixture.remove()
        }
        try fixture.publishBusyboxBase()
        // The first egress build makes the root's bridge; its gateway is host.baton.internal.
        try fixture.batonfile("FROM base:1\nRUN true\n")
        let first = try fixture.build("probe:1", extra: ["--network", "egress"])
        #expect(first.status == 0, "\(first.stderr)")
        let settings = try String(contentsOfFile: fixture.root + "/network/settings", encoding: .utf8).lines
        let octets = settings[1].split(separator: "/")[0].split(separator: ".").compactMap { Int($0) }
        let gateway = "\(octets[0]).\(octets[1]).\(octets[2]).\(octets[3] + 1)"

        let www = fixture.sub("www")
        try BuildFixture.write(www + "/index.html", "from-the-host\n")
        let port = 18_940 + Int.random(in: 0..<50)
        let site = try StaticSite.start(["/bin/busybox", "httpd", "-f", "-p", "\(gateway):\(port)", "-h", www])
        defer { StaticSite.stop(site) }

        try fixture.batonfile("""
            FROM base:1
            RUN busybox wget -q -T 3 -O /fetched.txt http://host.baton.internal:\(port)/ 2>/dev/null || echo unreachable > /fetched.txt
            CMD ["/bin/cat", "/fetched.txt"]
            """)
        let egress = try fixture.build("fetch:1", extra: ["--network", "egress"])
        #expect(egress.status == 0, "\(egress.stderr)")
        #expect(try fixture.baton(["run", "fetch:1"]).stdout == "from-the-host\n")
        // Not a cache hit of the egress step: the network is one of a RUN's inputs.
        let isolated = try fixture.build("fetch:2")
        #expect(isolated.status == 0, "\(isolated.stderr)")
        #expect(!isolated.stderr.contains(": cached"), "\(isolated.stderr)")
        #expect(try fixture.baton(["run", "fetch:2"]).stdout == "unreachable\n")
    }

    /// The bridge, firewall table and subnet claim the root's first egress sandbox made.
    static func removeNetwork(root: String) {
        guard let settings = try? String(contentsOfFile: root + "/network/settings", encoding: .utf8).lines, let bridge = settings.first else { return }
        let table = "baton_" + String(bridge.map { $0.isLetter || $0.isNumber ? $0 : "_" })
        _ = shell("ip link del \(bridge) 2>/dev/null; nft delete table inet \(table) 2>/dev/null; rm -f /run/baton-subnets/\(bridge)")
    }
}
