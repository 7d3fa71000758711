import BatonTestSupport
import Foundation
import Testing

/// The namespaces, identity and privileges a program finds itself in.
@Suite(.enabled(if: isRoot, "requires root"))
struct IsolationTests {
    @Test func everyNamespaceIsNew() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let result = try fixture.sh("for n in mnt pid uts ipc net cgroup; do readlink /proc/self/ns/$n; done")
        let inside = result.stdout.split(separator: "\n").map(String.init)
        let outside = ["mnt", "pid", "uts", "ipc", "net", "cgroup"].map {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/\($0)")) ?? ""
        }
        #expect(inside.count == 6)
        for (a, b) in zip(inside, outside) { #expect(a != b, "namespace \(a) shared with the host") }
    }

    @Test func theProgramIsPID2UnderBatonsInit() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let result = try fixture.sh("echo $$; ls /proc | grep -c '^[0-9]'")
        #expect(result.stdout.hasPrefix("2\n"))
    }

    @Test func hostnameDefaultsToTheSandboxIDAndCanBeSet() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish(checking: ["named-box"]) }
        #expect(try fixture.run(["--name", "named-box"], ["/bin/hostname"]).stdout == "named-box\n")
        #expect(try fixture.run(["--hostname", "web-1"], ["/bin/hostname"]).stdout == "web-1\n")
    }

    @Test func onlyLoopbackIsUp() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let result = try fixture.sh("ls /sys/class/net; cat /sys/class/net/lo/operstate /sys/class/net/lo/flags")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "lo")
        // IFF_UP is bit 0 of the flags.
        #expect(lines.last.flatMap { Int($0.dropFirst(2), radix: 16) }.map { $0 & 1 } == 1)
        // And it answers: something listening on 127.0.0.1 inside is reachable inside.
        // The client tries until the listener is up (a fixed sleep was too short on a busy
        // machine; 10 s of tries ran out once while 64 sandboxes started beside it: now 30 s),
        // then the listener's output is read once it has exited. The listener's stdin is a
        // FIFO held open until the client is done: a background job's stdin is /dev/null, and
        // busybox `nc -l` quits at its stdin's end, which on a loaded machine came before the
        // client's bytes (the listener wrote nothing, the client still exited 0).
        let served = try fixture.sh("""
            mkfifo /tmp/in; nc -l -p 7000 < /tmp/in > /tmp/got & exec 3>/tmp/in; tries=0
            until echo ping | nc -w 1 127.0.0.1 7000; do tries=$((tries + 1)); [ $tries -gt 600 ] && break; sleep 0.05; done
            exec 3>&-; wait; cat /tmp/got
            """)
        #expect(served.stdout.contains("ping"))
    }

    @Test func everyCapabilityIsDroppedAndNoNewPrivsIsSet() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let result = try fixture.sh("grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status")
        let fields = Dictionary(uniqueKeysWithValues: result.stdout.split(separator: "\n").map { line -> (String, String) in
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            return (parts[0], parts[1])
        })
        for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
            #expect(fields[set] == "0000000000000000", "\(set) = \(fields[set] ?? "?")")
        }
        #expect(fields["NoNewPrivs"] == "1")
        #expect(fields["Seccomp"] == "2")
    }

    @Test func keepCapKeepsExactlyThatCapability() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let result = try fixture.sh("grep -E '^Cap(Eff|Bnd):' /proc/self/status", flags: ["--keep-cap", "NET_BIND_SERVICE"])
        // CAP_NET_BIND_SERVICE is 10.
        #expect(result.stdout == "CapEff:\t0000000000000400\nCapBnd:\t0000000000000400\n")
    }

    @Test func keepCapWithANonRootUserUsesAmbientCapabilities() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let result = try fixture.sh("id -u; grep -E '^Cap(Eff|Amb):' /proc/self/status", flags: ["--user", "1000", "--keep-cap", "net_bind_service"])
        #expect(result.stdout == "1000\nCapEff:\t0000000000000400\nCapAmb:\t0000000000000400\n")
    }

    @Test func unknownCapabilityIsOneErrorLine() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let result = try fixture.run(["--keep-cap", "FLY"], ["/bin/true"])
        #expect(result.status != 0)
        #expect(result.stderr == "error: unknown capability 'FLY' (names as in capabilities(7), e.g. NET_BIND_SERVICE)\n")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: fixture.root + "/sandboxes")) ?? []).isEmpty)
    }

    @Test func userRunsTheProgramWithThoseIdsAndNoSupplementaryGroups() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let result = try fixture.sh("id -u; id -g; grep Groups /proc/self/status | tr -d ' \\t'", flags: ["--user", "1000:1001"])
        #expect(result.stdout == "1000\n1001\nGroups:\n")
    }

    @Test func userNamespaceMapsRootToAnUnprivilegedRange() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let result = try fixture.sh("id -u; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups | tr -s ' '", flags: ["--userns"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "0\n 0 100000 65536\n 0 100000 65536\ndeny\n")
        let ns = try fixture.sh("readlink /proc/self/ns/user", flags: ["--userns"])
        #expect(ns.stdout != (try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/user")) + "\n")
    }

    @Test func aDescriptorTheCallerLeakedIsClosed() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        // bash opens fd 7 without close-on-exec and execs baton with it.
        let output = shell("exec 7</etc/hostname; BATON_ROOT=\(fixture.root) exec \(BatonBinary.path) run --rootfs \(fixture.rootfs) -- /bin/ls /proc/self/fd")
        #expect(output == "0\n1\n2\n3\n", "descriptors inside: \(output)")
    }

    @Test func theProgramLeadsANewSession() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        // Field 6 of /proc/self/stat is the session id; a session leader's equals its pid.
        let result = try fixture.sh("cut -d' ' -f6 /proc/$$/stat")
        #expect(result.stdout == "2\n")
    }

    @Test func coreDumpsAreOffAndNofileIsBounded() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let result = try fixture.sh("ulimit -c; ulimit -n")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.first == "0")
        #expect(lines.last.flatMap { Int($0) }.map { $0 <= 65536 && $0 >= 256 } == true)
    }
}
