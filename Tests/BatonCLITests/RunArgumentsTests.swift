import BatonOS
import BatonSandbox
import ArgumentParser
@testable import BatonCLI
import Testing

/// `baton run` has two parsers: ArgumentParser (help, errors) and the fast path on the
/// sandbox start path. They must read every argument vector the same way.
@Suite struct RunArgumentsTests {
    static let vectors: [[String]] = [
        ["--rootfs", "/r", "--", "/bin/true"],
        ["--rm", "--rootfs", "/r", "--", "/bin/sh", "-c", "echo --help"],
        ["--name", "web", "--env", "A=1", "--env", "B=2", "--hostname", "h", "--workdir", "/srv", "--rootfs", "/r", "--", "x"],
        ["--memory", "256m", "--pids", "64", "--cpus", "0.5", "--user", "1000:1000", "--userns", "--rootfs", "/r", "--", "x"],
        ["--keep-cap", "NET_BIND_SERVICE", "--keep-cap", "CHOWN", "--seccomp", "unconfined", "--timeout", "5", "--rootfs", "/r", "--", "x"],
        ["--rootfs=/r", "--name=x", "--", "prog", "arg"],
        ["--root", "/state", "web:1.0"],
        ["web:1.0", "--", "/bin/sh"],
        ["--timeout", "2.5", "sha256:abc", "--", "a", "--", "b"],
        ["-t", "--rootfs", "/r", "--", "/bin/sh"],
        ["-it", "--rootfs", "/r", "--", "/bin/sh"],
        ["-i", "--tty", "web:1"],
        ["--volume", "/srv/data:/data", "--volume=/etc/app:/config:ro", "--rootfs", "/r", "--", "x"],
    ]

    @Test(arguments: vectors)
    func fastParserAgreesWithArgumentParser(_ vector: [String]) throws {
        let slow = try RunCommand.parse(vector).arguments
        let fast = try #require(RunArguments.fastParse(vector, root: StateRoot.resolve(nil)))
        #expect(String(describing: fast) == String(describing: slow))
    }

    @Test(arguments: [
        ["--rootfs", "/r"],                       // no program
        ["--rootfs", "/r", "ref", "--", "x"],     // both a root and a ref
        ["--pids", "many", "--rootfs", "/r", "--", "x"],
        ["--bogus", "--rootfs", "/r", "--", "x"],
        ["--help"],
        ["--seccomp", "off", "--rootfs", "/r", "--", "x"],
        ["--rootfs"],
    ])
    func anythingUnusualFallsBackToArgumentParser(_ vector: [String]) {
        #expect(RunArguments.fastParse(vector, root: "/state") == nil)
    }

    @Test func byteCountsAcceptSuffixes() {
        #expect(ByteCount.parse("268435456") == 268_435_456)
        #expect(ByteCount.parse("256m") == 256 << 20)
        #expect(ByteCount.parse("1G") == 1 << 30)
        #expect(ByteCount.parse("64KiB") == 64 << 10)
        #expect(ByteCount.parse("lots") == nil)
        #expect(ByteCount.parse("99999999999999999999g") == nil)
    }

    @Test func usersAreUIDOrUIDColonGID() {
        #expect(UserSpec.parse("1000").map { [$0.uid, $0.gid] } == [1000, 1000])
        #expect(UserSpec.parse("1000:50").map { [$0.uid, $0.gid] } == [1000, 50])
        #expect(UserSpec.parse("bob") == nil)
        #expect(UserSpec.parse("1:2:3") == nil)
    }
}
