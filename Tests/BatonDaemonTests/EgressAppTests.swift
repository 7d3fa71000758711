import BatonNetwork
import BatonOS
import BatonTestSupport
import Foundation
import Glibc
import Testing

/// Apps on the network: egress by default, the host as host.baton.internal, `--egress-allow`
/// as the only destinations, `--network none` with loopback alone, and a firewall that a daemon
/// killed with -9 rewrites whole, never twice. Traffic goes only to servers these tests start.
@Suite(.serialized, .enabled(if: geteuid() == 0, "requires root"))
struct EgressAppTests {
    /// `site:net` answers `/cgi-bin/fetch?HOST:PORT` with the last line of what HOST:PORT
    /// serves at /, or "unreachable"; and `/cgi-bin/links` with its network interfaces.
    static func publishProbeSite(_ fixture: DeployFixture) throws {
        let source = fixture.root + "/src/net"
        try FileManager.default.createDirectory(atPath: source + "/www/cgi-bin", withIntermediateDirectories: true)
        try "ok\n".write(toFile: source + "/www/health", atomically: true, encoding: .utf8)
        let fetch = """
            #!/bin/sh
            printf 'Content-Type: text/plain\\r\\n\\r\\n'
            out=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | /bin/busybox nc -w 2 "${QUERY_STRING%:*}" "${QUERY_STRING#*:}" 2>/dev/null | /bin/busybox tail -1)
            [ -n "$out" ] && echo "$out" || echo unreachable

            """
        let links = "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\n/bin/busybox ls /sys/class/net\n"
        for (name, text) in [("fetch", fetch), ("links", links)] {
            try text.write(toFile: "\(source)/www/cgi-bin/\(name)", atomically: true, encoding: .utf8)
            chmod("\(source)/www/cgi-bin/\(name)", 0o755)
        }
        try DeployFixture.baton(["artifact", "publish", "site:net", source, "--base", "base:1", "--port", "8000", "--health-path", "/health",
                                 "--cmd", "/bin/busybox httpd -f -p 8000 -h /www"], root: fixture.root)
    }

    /// A static page on the host at `address:port` (the bridge's gateway), for the test's span.
    static func hostServer(_ fixture: DeployFixture, address: String, port: Int, text: String) throws -> ChildProcess {
        let www = "\(fixture.root)/host-www-\(port)"
        try FileManager.default.createDirectory(atPath: www, withIntermediateDirectories: true)
        try text.write(toFile: www + "/index.html", atomically: true, encoding: .utf8)
        let server = ChildProcess()
        let command = TestProcessLifetime.tied(["/bin/busybox", "httpd", "-f", "-p", "\(address):\(port)", "-h", www])
        server.executableURL = URL(fileURLWithPath: command[0])
        server.arguments = Array(command.dropFirst())
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try TestProcessLifetime.start(server)
        for _ in 0..<100 where HTTPGet.fetch(port: port, host: address, path: "/", timeout: 1) == nil { usleep(20_000) }
        return server
    }

    static func stop(_ server: ChildProcess) {
        kill(server.processIdentifier, SIGKILL)
        server.waitUntilExit()
    }

    /// A network the host routes (not the default route), from /proc/net/route.
    static func hostRoute() -> String? {
        let lines = ((try? String(contentsOfFile: "/proc/net/route", encoding: .utf8)) ?? "").split(separator: "\n").dropFirst()
        for line in lines {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 8, let destination = UInt32(fields[1], radix: 16), let mask = UInt32(fields[7], radix: 16), mask != 0,
                  !fields[0].hasPrefix("bt-") else { continue }
            return IPv4Network(address: IPv4Address(UInt32(bigEndian: destination)), prefix: UInt32(bigEndian: mask).nonzeroBitCount).description
        }
        return nil
    }

    static func output(_ command: [String]) throws -> String {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// The bridge's address, which sandboxes know as host.baton.internal.
    static func gateway(_ fixture: DeployFixture) throws -> String {
        let settings = try String(contentsOfFile: fixture.root + "/network/settings", encoding: .utf8).split(separator: "\n")
        let subnet = try #require(IPv4Network(settings[1]))
        return IPv4Address(subnet.address.value + 1).description
    }

    func fetch(_ fixture: DeployFixture, _ target: String, app host: String = DeployFixture.host) -> String {
        HTTPGet.fetch(port: fixture.daemon.port, host: host, path: "/cgi-bin/fetch?\(target)")?.body
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "no answer"
    }

    @Test func anAppReachesTheHostByNameAndNotTheMetadataRange() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try Self.publishProbeSite(fixture)
        try fixture.baton(["deploy", "web", "site:net"])
        let gateway = try Self.gateway(fixture)
        let server = try Self.hostServer(fixture, address: gateway, port: 18941, text: "host service\n")
        defer { Self.stop(server) }
        #expect(fetch(fixture, "host.baton.internal:18941") == "host service")
        #expect(fetch(fixture, "169.254.169.254:80") == "unreachable")
        let links = HTTPGet.fetch(port: fixture.daemon.port, host: DeployFixture.host, path: "/cgi-bin/links")?.body ?? ""
        #expect(links == "eth0\nlo\n")
    }

    /// A bridge takes the lowest hardware address among its ports unless it has its own. Here
    /// blue's port has the lowest, and green learns the gateway's address (its health check
    /// reaches the host) while blue still lends it; once blue goes, a bridge that took another
    /// address would leave green sending to one nobody has until its ARP entry expires.
    @Test func greenStillReachesTheHostAfterBlueAndItsPortAreGone() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try Self.publishProbeSite(fixture)
        try fixture.baton(["deploy", "web", "site:net"])
        let gateway = try Self.gateway(fixture)
        let server = try Self.hostServer(fixture, address: gateway, port: 18944, text: "host service\n")
        defer { Self.stop(server) }
        let bridge = TestNetwork.bridge(root: fixture.root)
        let ports = try FileManager.default.contentsOfDirectory(atPath: "/sys/class/net/\(bridge)/brif")
        try #require(ports.count == 1, "blue's port alone: \(ports)")
        #expect(shell("ip link set \(ports[0]) address 02:00:00:00:00:01 && echo set") == "set\n")
        let before = try String(contentsOfFile: "/sys/class/net/\(bridge)/address", encoding: .utf8)

        try fixture.baton(["app", "set", "web", "--health-path", "/cgi-bin/fetch?\(gateway):18944"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: "/sys/class/net/\(bridge)/brif") != ports, "blue's port is gone")
        #expect(try String(contentsOfFile: "/sys/class/net/\(bridge)/address", encoding: .utf8) == before)
        #expect(fetch(fixture, "host.baton.internal:18944") == "host service")
    }

    @Test func egressAllowIsTheOnlyWayOutAndSurvivesAKilledDaemon() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try Self.publishProbeSite(fixture)
        // The bridge exists once an egress sandbox has run: learn its gateway from `web`.
        try fixture.baton(["deploy", "web", "site:net"])
        let gateway = try Self.gateway(fixture)
        let allowed = try Self.hostServer(fixture, address: gateway, port: 18942, text: "allowed\n")
        let other = try Self.hostServer(fixture, address: gateway, port: 18943, text: "other\n")
        defer { Self.stop(allowed); Self.stop(other) }
        try fixture.baton(["app", "create", "locked", "--host", "locked.test", "--egress-allow", "\(gateway)/32:18942",
                           "--egress-allow", "169.254.169.254"])
        try fixture.baton(["deploy", "locked", "site:net"])
        #expect(fetch(fixture, "\(gateway):18942", app: "locked.test") == "allowed")
        #expect(fetch(fixture, "\(gateway):18943", app: "locked.test") == "unreachable")
        #expect(fetch(fixture, "\(gateway):18943") == "other", "an app without a list reaches it")

        let table = "baton_" + String(TestNetwork.bridge(root: fixture.root).map { $0.isLetter || $0.isNumber ? $0 : "_" })
        let before = try Self.output(["/usr/sbin/nft", "list", "table", "inet", table])
        fixture.daemon.killHard()
        let next = try DaemonProcess(root: fixture.root)
        defer { next.stop() }
        let after = try Self.output(["/usr/sbin/nft", "list", "table", "inet", table])
        #expect(after == before, "the table is written whole again, with the running sandboxes' elements and no duplicates")
        #expect(HTTPGet.fetch(port: next.port, host: "locked.test", path: "/cgi-bin/fetch?\(gateway):18943")?.body == "unreachable\n")
        #expect(HTTPGet.fetch(port: next.port, host: "locked.test", path: "/cgi-bin/fetch?\(gateway):18942")?.body == "allowed\n")
        _ = try? DeployFixture.baton(["app", "rm", "locked"], root: fixture.root, allowFailure: true)
        _ = try? DeployFixture.baton(["app", "rm", "web"], root: fixture.root, allowFailure: true)
    }

    @Test func theDaemonMakesTheNetworkAtStartAndNetworkRmRemovesItOnceTheDaemonStops() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        let status = try #require(try JSONSerialization.jsonObject(with: Data(fixture.baton(["network", "inspect", "--json"]).stdout.utf8)) as? [String: Any])
        let bridge = try #require(status["bridge"] as? String)
        let gateway = try Self.gateway(fixture)
        #expect(status["up"] as? Bool == true && status["gateway"] as? String == gateway, "\(status)")
        #expect(fixture.daemon.log.contains(", sandbox network \(bridge) \(gateway)/24, root "), "the ready line says where the host is: \(fixture.daemon.log)")
        #expect(try fixture.baton(["network", "inspect"]).stdout.contains("gateway         \(gateway) (host.baton.internal in sandboxes)"))

        let refused = try fixture.baton(["network", "rm"], allowFailure: true)
        #expect(refused.status != 0)
        #expect(refused.stderr == "error: the daemon of \(fixture.root) is running: stop it before removing its sandbox network\n")
        #expect(access("/sys/class/net/\(bridge)", F_OK) == 0)

        // A sandbox that came and went leaves nothing under /run that `network rm` must keep.
        try Self.publishProbeSite(fixture)
        try fixture.baton(["app", "create", "probe", "--host", "probe.test"])
        try fixture.baton(["deploy", "probe", "site:net"])
        try fixture.baton(["app", "rm", "probe"])
        fixture.daemon.killHard()
        let removed = try fixture.baton(["network", "rm"])
        #expect(access(RuntimeDirectory.path(root: fixture.root), F_OK) != 0, "the root's runtime directory goes with its network")
        #expect(removed.stdout == "removed \(bridge) (\(status["subnet"] as? String ?? "")) and its firewall table\n")
        #expect(access("/sys/class/net/\(bridge)", F_OK) != 0)
        #expect(try fixture.baton(["network", "inspect", "--json"]).stdout == "null\n")
        #expect(try fixture.baton(["network", "rm"]).stdout == "no sandbox network to remove\n")
    }

    /// A root that cannot have its network (here: another interface has the bridge's name)
    /// still serves apps without one; egress deploys fail saying why.
    @Test func aDaemonWithoutItsNetworkStillServesAppsThatNeedNone() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("baton-nonet-\(UUID().uuidString.prefix(8))").path
        let squatter = NetworkSettings.defaultBridge(root: root)
        #expect(shell("ip link add \(squatter) type bridge && echo made") == "made\n")
        defer {
            shell("ip link del \(squatter)")
            try? FileManager.default.removeItem(atPath: root)
        }
        try DeployFixture.publishBase(root: root)
        try DeployFixture.publishSite("1", root: root)
        let daemon = try DaemonProcess(root: root)
        defer { daemon.stop() }
        #expect(daemon.log.contains(", no sandbox network (the interface \(squatter) exists and is not this root's bridge"), "\(daemon.log)")
        try DeployFixture.baton(["app", "create", "sealed", "--host", "sealed.test", "--network", "none"], root: root)
        try DeployFixture.baton(["deploy", "sealed", "site:1"], root: root)
        #expect(HTTPGet.fetch(port: daemon.port, host: "sealed.test", path: "/")?.body == "v1\n")
        try DeployFixture.baton(["app", "create", "open", "--host", "open.test"], root: root)
        let failed = try DeployFixture.baton(["deploy", "open", "site:1"], root: root, allowFailure: true)
        #expect(failed.status != 0)
        #expect(failed.stderr.contains("the interface \(squatter) exists and is not this root's bridge"), "\(failed.stderr)")
        for app in ["sealed", "open"] { try DeployFixture.baton(["app", "rm", app], root: root) }
    }

    @Test func networkNoneHasOnlyLoopback() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try Self.publishProbeSite(fixture)
        try fixture.baton(["app", "create", "sealed", "--host", "sealed.test", "--network", "none"])
        try fixture.baton(["deploy", "sealed", "site:net"])
        #expect(HTTPGet.fetch(port: fixture.daemon.port, host: "sealed.test", path: "/cgi-bin/links")?.body == "lo\n")
        let leases = (try? FileManager.default.contentsOfDirectory(atPath: RuntimeDirectory.path(root: fixture.root) + "/leases")) ?? []
        #expect(leases.isEmpty, "a sandbox without a network holds no address")
    }

    @Test func badNetworkSettingsAreRefusedWithOneLine() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        let cases: [([String], String)] = [
            (["--network", "bridge"], "error: invalid --network 'bridge': use egress or none"),
            (["--egress-allow", "example.com"], "error: invalid --egress-allow 'example.com': use CIDR or CIDR:PORT, e.g. 10.0.0.0/8 or 192.0.2.10:5432"),
            (["--egress-allow", "10.0.0.1/8"], "error: invalid --egress-allow '10.0.0.1/8': use CIDR or CIDR:PORT, e.g. 10.0.0.0/8 or 192.0.2.10:5432"),
            (["--network", "none", "--egress-allow", "10.0.0.0/8"], "error: --egress-allow needs --network egress: an app with --network none reaches nothing"),
        ]
        for (flags, message) in cases {
            let result = try fixture.baton(["app", "create", "bad", "--host", "bad.test"] + flags, allowFailure: true)
            #expect(result.status != 0)
            #expect(result.stderr == message + "\n", "\(flags)")
        }
        let upstream = try fixture.baton(["app", "create", "bad", "--host", "bad.test", "--upstream", "127.0.0.1:9", "--network", "none"], allowFailure: true)
        #expect(upstream.stderr.hasPrefix("error: "))
        let apps = try fixture.baton(["app", "ls", "--json"]).stdout
        #expect(!apps.contains("\"bad\""))

        let route = try #require(Self.hostRoute(), "the host has a route other than the default one")
        for (subnet, message) in [("10.0.0.1/8", "invalid --subnet '10.0.0.1/8'"), (route, "overlaps the host's route to \(route)")] {
            let root = fixture.root + "-subnet"
            defer { TestNetwork.remove(root: root); try? FileManager.default.removeItem(atPath: root) }
            let daemon = try BatonExecutable.run(["daemon", "--root", root, "--listen", "127.0.0.1:0", "--subnet", subnet])
            #expect(daemon.status != 0)
            #expect(daemon.stderr.hasPrefix("error: ") && daemon.stderr.contains(message), "\(daemon.stderr)")
            #expect(daemon.stderr.split(separator: "\n").count == 1)
        }
    }
}
