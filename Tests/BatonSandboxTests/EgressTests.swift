import BatonOS
import BatonTestSupport
import Foundation
import Testing

/// `--network egress`: an address on the root's bridge, out through NAT, the host as
/// host.baton.internal; nothing in from outside, not from another sandbox either, and no
/// cloud-metadata range. Traffic goes only to servers these tests start.
@Suite(.enabled(if: isRoot, "requires root"))
struct EgressTests {
    func withEgress(_ body: (SandboxFixture, EgressNetwork) throws -> Void) throws {
        let fixture = try SandboxFixture()
        defer { EgressNetwork.remove(root: fixture.root); fixture.finish() }
        let first = try fixture.run(["--network", "egress"], ["/bin/true"])
        #expect(first.status == 0, "\(first.stderr)")
        try body(fixture, try EgressNetwork(root: fixture.root))
    }

    /// `printf REQUEST | nc` inside the sandbox, to the answer's last line.
    static func fetch(_ host: String, _ port: Int) -> String {
        "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 \(host) \(port) | tail -1"
    }

    @Test func egressHasAnAddressADefaultRouteAndTheHostByName() throws {
        try withEgress { fixture, network throws in
            let www = fixture.root + "-www"
            try FileManager.default.createDirectory(atPath: www, withIntermediateDirectories: true)
            try "from the host\n".write(toFile: www + "/index.html", atomically: true, encoding: .utf8)
            let site = try StaticSite.start(["/bin/busybox", "httpd", "-f", "-p", "\(network.gateway):18930", "-h", www])
            defer { StaticSite.stop(site); try? FileManager.default.removeItem(atPath: www) }
            usleep(200_000)
            let result = try fixture.run(["--network", "egress"], ["/bin/sh", "-c",
                "ip -4 -o addr show eth0 | tr -s ' ' | cut -d' ' -f4; ip route | grep default; grep host.baton.internal /etc/hosts; \(Self.fetch("host.baton.internal", 18930))"])
            #expect(result.status == 0, "\(result.stderr)")
            let lines = result.stdout.split(separator: "\n").map(String.init)
            let prefix = network.subnet.split(separator: ".").prefix(3).joined(separator: ".")
            #expect(lines.first?.hasPrefix(prefix + ".") == true, "\(result.stdout)")
            #expect(lines.dropFirst().first?.hasPrefix("default via \(network.gateway) dev eth0") == true, "\(result.stdout)")
            #expect(lines.contains("\(network.gateway)\thost.baton.internal"))
            #expect(lines.last == "from the host", "\(result.stdout)")
        }
    }

    @Test func outboundGoesThroughNATToAServerOutside() throws {
        try withEgress { fixture, _ throws in
            let outside = try OutsideNamespace()
            defer { outside.remove() }
            try outside.serve("outside world\n", port: 18931)
            let result = try fixture.run(["--network", "egress"], ["/bin/sh", "-c", Self.fetch(outside.address, 18931)])
            #expect(result.stdout == "outside world\n", "\(result.stderr)")
        }
    }

    @Test func theCloudMetadataRangeIsRefused() throws {
        try withEgress { fixture, _ throws in
            let result = try fixture.run(["--network", "egress"], ["/bin/sh", "-c", "nc -w 1 169.254.169.254 80 </dev/null && echo reached || echo refused"])
            #expect(result.stdout == "refused\n")
        }
    }

    /// A sandbox listening on its address: neither the host nor another sandbox gets in.
    @Test func nothingReachesASandboxFromTheHostOrAnotherSandbox() throws {
        try withEgress { fixture, _ throws in
            let listener = ChildProcess()
            listener.executableURL = URL(fileURLWithPath: BatonBinary.path)
            listener.arguments = ["run", "--network", "egress", "--name", "listener", "--rootfs", fixture.rootfs, "--", "/bin/sh", "-c",
                                  "ip -4 -o addr show eth0 | tr -s ' ' | cut -d' ' -f4 | cut -d/ -f1 > /dev/stderr; nc -l -p 18932 -e echo leaked"]
            listener.environment = ["BATON_ROOT": fixture.root]
            let address = Pipe()
            listener.standardError = address
            try listener.run()
            defer { listener.terminate(); listener.waitUntilExit() }
            let ip = String(decoding: address.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(!ip.isEmpty)
            let fromHost = shell("busybox nc -w 1 \(ip) 18932 </dev/null; echo status=$?")
            #expect(!fromHost.contains("leaked"), "the host reached the sandbox: \(fromHost)")
            let fromSandbox = try fixture.run(["--network", "egress"], ["/bin/sh", "-c", "nc -w 1 \(ip) 18932 </dev/null; echo done"])
            #expect(fromSandbox.stdout == "done\n", "another sandbox reached it: \(fromSandbox.stdout)")
        }
    }

    @Test func noneStaysTheDefaultWithOnlyLoopback() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let result = try fixture.sh("ls /sys/class/net")
        #expect(result.stdout == "lo\n")
        #expect(!FileManager.default.fileExists(atPath: fixture.root + "/network"))
    }

    @Test func addressesGoBackWhenSandboxesEnd() throws {
        try withEgress { fixture, _ throws in
            for _ in 0..<3 { #expect(try fixture.run(["--network", "egress"], ["/bin/true"]).status == 0) }
            #expect(try FileManager.default.contentsOfDirectory(atPath: RuntimeDirectory.path(root: fixture.root) + "/leases").isEmpty)
        }
    }
}
