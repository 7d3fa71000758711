import BatonTestSupport
import Foundation
import Glibc
import Testing

/// Registry commands with `--host ssh://…`: a pull is made by the daemon there, into its store,
/// with its host's credentials; credentials themselves are never sent over (`login` refuses).
@Suite(.serialized, .enabled(if: RegistryPushPullTests.ready && FileManager.default.fileExists(atPath: "/usr/sbin/sshd"),
                             "requires root, docker-registry, skopeo and openssh-server"))
struct RemoteRegistryTests {
    @Test func aPullWithHostLandsInTheRemoteStoreAndLoginIsRefused() throws {
        let registry = try RegistryServer()
        defer { registry.stop() }
        let base = FileManager.default.temporaryDirectory.path + "/baton-rpull-\(UUID().uuidString.prefix(8))"
        let (local, host) = (base + "-local", base + "-host")
        defer { for root in [local, host] { TestNetwork.remove(root: root); try? FileManager.default.removeItem(atPath: root) } }
        try DeployFixture.publishBase(root: local)
        let pushed = try RegistryCLI.baton(["artifact", "push", "base:1", "\(registry.host)/base/busybox:1", "--insecure"], root: local)
        try #require(pushed.status == 0, "\(pushed.stderr)")
        let digest = RegistryCLI.lastLine(pushed)

        let daemon = try DaemonProcess(root: host)
        defer { daemon.stop() }
        let ssh = try TestSSHServer(defaultRoot: host)
        defer { ssh.stop() }
        try ssh.installBaton()
        let localIndex = try String(contentsOfFile: local + "/store/index.json", encoding: .utf8)

        let pulled = try BatonExecutable.run(["--host", ssh.url, "artifact", "pull", "\(registry.host)/base/busybox:1", "--as", "runtime:1",
                                              "--insecure", "--root", host], prefix: ssh.environment())
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(pulled.stdout == digest + "\n")
        #expect(pulled.stderr.contains("as runtime:1 on ssh://"), "\(pulled.stderr)")
        #expect(try String(contentsOfFile: host + "/store/index.json", encoding: .utf8).contains("runtime:1"))
        #expect(try String(contentsOfFile: local + "/store/index.json", encoding: .utf8) == localIndex, "nothing lands here")

        // The remote daemon's own checks answer: plain HTTP without --insecure.
        let refused = try BatonExecutable.run(["--host", ssh.url, "artifact", "pull", "\(registry.host)/base/busybox:1", "--root", host],
                                              prefix: ssh.environment())
        #expect(refused.status != 0 && refused.stderr.hasPrefix("error: ") && refused.stderr.contains("--insecure"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1)

        let login = try BatonExecutable.run(["--host", ssh.url, "login", registry.host, "--username", "u", "--password-stdin"],
                                            prefix: ssh.environment())
        #expect(login.status != 0)
        #expect(login.stderr.hasPrefix("error: 'baton login' works on this host only"), "\(login.stderr)")
        #expect(!FileManager.default.fileExists(atPath: host + "/auth.json"))
    }
}
