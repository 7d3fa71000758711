import BatonTestSupport
import Foundation
import Glibc
import Testing

/// `baton build --network egress`: RUN reaches the host through the root's bridge, as
/// `baton run --network egress` does; without the flag it has loopback only. Traffic goes
/// only to a server this test starts on the bridge's address.
@Suite(.enabled(if: isRoot, "requires root (sandboxes, a bridge)"))
struct BuildEgressTests {
    @Test func runReachesTheHostOnlyWithEgress() throws {
        let fixture = BuildFixture()
        defer {
            Self.removeNetwork(fixture)
            fixture.remove()
        }
        try fixture.publishBusyboxBase()
        // The first egress build makes the root's bridge; its gateway is the host (by address:
        // the static busybox cannot look names up in /etc/hosts).
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
        try Self.waitUntilListening(gateway, port)

        try fixture.batonfile("""
            FROM base:1
            RUN busybox wget -O /fetched.txt http://\(gateway):\(port)/ || echo unreachable > /fetched.txt
            CMD ["/bin/cat", "/fetched.txt"]
            """)
        let egress = try fixture.build("fetch:1", extra: ["--network", "egress"])
        #expect(egress.status == 0, "\(egress.stderr)")
        let fetched = try fixture.baton(["run", "fetch:1"])
        #expect(fetched.stdout == "from-the-host\n", "\(fetched.stdout) \(fetched.stderr) \(egress.stderr)")
        // Not a cache hit of the egress step: the network is one of a RUN's inputs.
        let isolated = try fixture.build("fetch:2")
        #expect(isolated.status == 0, "\(isolated.stderr)")
        #expect(!isolated.stderr.contains(": cached"), "\(isolated.stderr)")
        #expect(try fixture.baton(["run", "fetch:2"]).stdout == "unreachable\n")
    }

    /// Connects until the server accepts (it binds after it starts), for at most a minute.
    static func waitUntilListening(_ address: String, _ port: Int) throws {
        for _ in 0..<6_000 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var target = sockaddr_in()
            target.sin_family = sa_family_t(AF_INET)
            target.sin_port = in_port_t(UInt16(port).bigEndian)
            inet_pton(AF_INET, address, &target.sin_addr)
            let connected = withUnsafePointer(to: &target) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            close(fd)
            if connected == 0 { return }
            usleep(10_000)
        }
        throw FixtureError("nothing listens on \(address):\(port)")
    }

    /// The bridge, firewall table, subnet claim and runtime directory the root's first egress
    /// sandbox made, removed as an operator would: `baton network rm` (no daemon runs here).
    static func removeNetwork(_ fixture: BuildFixture) {
        let removed = try? fixture.baton(["network", "rm"])
        if removed?.status != 0 { Issue.record("baton network rm failed: \(removed?.stderr ?? "")") }
    }
}
