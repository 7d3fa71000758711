import BatonControl
import BatonOS
import BatonTestSupport
import Foundation
import Glibc
import Testing

/// `baton --host ssh://…` and `baton artifact push REF ssh://…` through a real OpenSSH server
/// on 127.0.0.1: this machine plays the remote host with a second root (B), whose daemon the
/// commands reach over `ssh … baton dial-stdio`; the artifacts come from a first root (A).
@Suite(.serialized, .enabled(if: geteuid() == 0 && FileManager.default.fileExists(atPath: "/usr/sbin/sshd"), "requires root and openssh-server"))
struct RemoteControlTests {
    /// Root A with base:1 and site:1 (which prints "remote-started vN" and serves "vN"), root B
    /// with a daemon, and an sshd whose sessions run the built `baton`.
    final class Remote {
        let rootA: String
        let rootB: String
        let daemon: DaemonProcess
        let ssh: TestSSHServer

        init() throws {
            let base = FileManager.default.temporaryDirectory.path + "/baton-remote-\(UUID().uuidString.prefix(8))"
            rootA = base + "-a"
            rootB = base + "-b"
            try DeployFixture.publishBase(root: rootA)
            try Self.publishSite("1", root: rootA)
            daemon = try DaemonProcess(root: rootB)
            ssh = try TestSSHServer()
            try ssh.installBaton()
        }

        static func publishSite(_ version: String, root: String) throws {
            try DeployFixture.publishSite(version, command: "/bin/sh -c 'echo remote-started v\(version); exec /bin/busybox httpd -f -p 8000 -h /www'",
                                          root: root)
        }

        /// `baton --host URL ARGS --root B` with the test's ssh config.
        @discardableResult
        func remote(_ arguments: [String], otherKey: Bool = false, url: String? = nil, root: String? = nil) throws -> BatonExecutable.Result {
            try BatonExecutable.run(["--host", url ?? ssh.url] + arguments + ["--root", root ?? rootB], prefix: ssh.environment(otherKey: otherKey))
        }

        /// `baton artifact push REF URL --remote-root B --root A`.
        @discardableResult
        func push(_ ref: String, from root: String? = nil) throws -> BatonExecutable.Result {
            try BatonExecutable.run(["artifact", "push", ref, ssh.url, "--remote-root", rootB, "--root", root ?? rootA], prefix: ssh.environment())
        }

        /// The numbers in push's "sent N of M blobs".
        static func sent(_ result: BatonExecutable.Result) -> (sent: Int, of: Int)? {
            guard let match = result.stderr.firstMatch(of: #/sent (\d+) of (\d+) blobs/#) else { return nil }
            return (Int(match.1)!, Int(match.2)!)
        }

        func blobsOfB() -> Set<String> {
            Set((try? FileManager.default.contentsOfDirectory(atPath: rootB + "/store/blobs/sha256")) ?? [])
        }

        func finish() {
            _ = try? DeployFixture.baton(["app", "rm", "web"], root: rootB, allowFailure: true)
            daemon.stop()
            ssh.stop()
            TestNetwork.remove(root: rootB)
            try? FileManager.default.removeItem(atPath: rootA)
            try? FileManager.default.removeItem(atPath: rootB)
        }
    }

    @Test func publishPushDeployHistoryPsLogsOverSSH() throws {
        let remote = try Remote()
        defer { remote.finish() }

        let pushed = try remote.push("site:1")
        #expect(pushed.status == 0, "\(pushed.stderr)\nsshd: \(remote.ssh.log)")
        let counts = Remote.sent(pushed)
        #expect(counts != nil && counts?.sent == counts?.of && (counts?.of ?? 0) >= 4, "\(pushed.stderr)")
        let digest = pushed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let local = try DeployFixture.baton(["artifact", "inspect", "site:1", "--json"], root: remote.rootA)
        #expect(local.stdout.contains(digest) && digest.hasPrefix("sha256:"))
        let there = try DeployFixture.baton(["artifact", "inspect", "site:1", "--json"], root: remote.rootB)
        #expect(there.stdout.contains(digest), "root B holds site:1 with the same digest")

        // Pushing again sends nothing.
        let again = try remote.push("site:1")
        #expect(again.status == 0 && Remote.sent(again)?.sent == 0, "\(again.stderr)")

        // A second version on the same base sends only its own layer, config and manifest.
        try Remote.publishSite("2", root: remote.rootA)
        let second = try remote.push("site:2")
        #expect(second.status == 0 && Remote.sent(second)?.sent == 3, "\(second.stderr)")

        let created = try remote.remote(["app", "create", "web", "--host", DeployFixture.host])
        #expect(created.status == 0, "\(created.stderr)")
        let deployed = try remote.remote(["deploy", "web", "site:1"])
        #expect(deployed.status == 0 && deployed.stdout.contains("now serves \(digest)"), "\(deployed.stderr)")
        #expect(HTTPGet.fetch(port: remote.daemon.port, host: DeployFixture.host, path: "/")?.body == "v1\n")
        let swapped = try remote.remote(["deploy", "web", "site:2"])
        #expect(swapped.status == 0, "\(swapped.stderr)")
        #expect(HTTPGet.fetch(port: remote.daemon.port, host: DeployFixture.host, path: "/")?.body == "v2\n")

        let history = try remote.remote(["history", "web", "--json"])
        let records = try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(records.count == 2 && records.allSatisfy { $0["outcome"] as? String == "succeeded" }, "\(history.stdout) \(history.stderr)")
        let ps = try remote.remote(["ps", "--json"])
        let sandboxes = try JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(sandboxes.count == 1 && sandboxes.first?["app"] as? String == "web", "\(ps.stdout) \(ps.stderr)")
        let logs = try remote.remote(["logs", "web"])
        #expect(logs.status == 0 && logs.stdout.contains("remote-started v2"), "\(logs.stdout) \(logs.stderr)")
        // apply resolves its artifacts in the remote daemon's store: this side's root (an
        // empty one here) is never read, and --socket names the remote daemon's socket.
        let file = remote.rootA + "-apps.yml"
        defer { unlink(file) }
        try "apps:\n  other:\n    artifact: site:2\n    hosts: [other.test]\n".write(toFile: file, atomically: true, encoding: .utf8)
        let applied = try BatonExecutable.run(["--host", remote.ssh.url, "apply", "-f", file, "--socket", remote.rootB + "/baton.sock"],
                                              prefix: remote.ssh.environment() + ["BATON_ROOT=\(remote.rootA)-empty"])
        #expect(applied.status == 0 && applied.stdout.contains("create"), "\(applied.stdout) \(applied.stderr)")
        #expect(HTTPGet.fetch(port: remote.daemon.port, host: "other.test", path: "/")?.body == "v2\n")
        _ = try DeployFixture.baton(["app", "rm", "other"], root: remote.rootB, allowFailure: true)
        let rolledBack = try remote.remote(["rollback", "web"])
        #expect(rolledBack.status == 0, "\(rolledBack.stderr)")
        #expect(HTTPGet.fetch(port: remote.daemon.port, host: DeployFixture.host, path: "/")?.body == "v1\n")
    }

    /// `logs -f APP` over ssh goes on with green's output after a swap, as it does locally.
    @Test func followingAnAppsLogsOverSSHMovesToGreenAfterASwap() throws {
        let remote = try Remote()
        defer { remote.finish() }
        try Remote.publishSite("2", root: remote.rootA)
        for version in ["site:1", "site:2"] {
            let pushed = try remote.push(version)
            try #require(pushed.status == 0, "\(pushed.stderr)")
        }
        try #require(try remote.remote(["app", "create", "web", "--host", "web.test"]).status == 0)
        try #require(try remote.remote(["deploy", "web", "site:1"]).status == 0)

        let output = remote.rootA + "-follow.log"
        defer { unlink(output) }
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let follower = ChildProcess()
        let command = TestProcessLifetime.tied(remote.ssh.environment() + [BatonExecutable.path, "--host", remote.ssh.url, "logs", "-f", "web", "--root", remote.rootB])
        follower.executableURL = URL(fileURLWithPath: command[0])
        follower.arguments = Array(command.dropFirst())
        follower.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        follower.standardError = FileHandle.nullDevice
        follower.standardInput = FileHandle.nullDevice
        try TestProcessLifetime.start(follower)
        defer {
            if follower.isRunning { kill(follower.processIdentifier, SIGKILL) }
            follower.waitUntilExit()
        }
        func printed() -> String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }
        for _ in 0..<300 where !printed().contains("remote-started v1") { usleep(100_000) }
        #expect(printed().contains("remote-started v1"), "blue's output: \(printed())")
        try #require(try remote.remote(["deploy", "web", "site:2"]).status == 0)
        for _ in 0..<300 where !printed().contains("remote-started v2") { usleep(100_000) }
        #expect(printed().contains("remote-started v2"), "green's output after the swap: \(printed())")
        #expect(follower.isRunning, "still following")
    }

    @Test func aNameBoundToOtherBytesOnTheRemoteIsRefusedBeforeAnyBlobIsSent() throws {
        let remote = try Remote()
        defer { remote.finish() }
        #expect(try remote.push("site:1").status == 0)
        // Another root publishes site:1 with other bytes.
        let other = remote.rootA + "-other"
        defer { try? FileManager.default.removeItem(atPath: other) }
        try DeployFixture.publishBase(root: other)
        try DeployFixture.publishSite("1", command: "/bin/busybox httpd -f -p 8000 -h /www -v", root: other)
        let before = remote.blobsOfB()
        let refused = try remote.push("site:1", from: other)
        #expect(refused.status != 0)
        #expect(refused.stderr.hasPrefix("error: ") && refused.stderr.contains("already published"), "\(refused.stderr)")
        #expect(refused.stderr.unicodeScalars.filter { $0 == "\n" || $0 == "\r" }.count == 1, "one line: \(refused.stderr.debugDescription)")
        #expect(remote.blobsOfB() == before, "the remote store is unchanged")
    }

    @Test func aBlobThatArrivesCorruptedIsRefusedAndLeavesTheStoreUnchanged() throws {
        let remote = try Remote()
        defer { remote.finish() }
        #expect(try remote.push("site:1").status == 0)
        let before = remote.blobsOfB()
        let file = remote.rootA + "-blob"
        defer { unlink(file) }
        try Data("these are not the bytes the digest names\n".utf8).write(to: URL(fileURLWithPath: file))
        let fd = open(file, O_RDONLY)
        defer { close(fd) }
        let client = ControlClient(socketPath: remote.rootB + "/baton.sock")
        let claimed = "sha256:" + String(repeating: "ab", count: 32)
        let mismatch = #expect(throws: BatonError.self) { try client.uploadBlob(digest: claimed, file: fd, size: 41) }
        #expect(mismatch?.code == .corrupt && mismatch?.message.contains("digest mismatch") == true, "\(String(describing: mismatch))")
        // A blob cut short: the connection ends mid-body, and what came is thrown away.
        lseek(fd, 0, SEEK_SET)
        #expect(throws: BatonError.self) { try client.uploadBlob(digest: claimed, file: fd, size: 4096) }
        // Not a digest at all.
        lseek(fd, 0, SEEK_SET)
        #expect(throws: BatonError.self) { try client.uploadBlob(digest: "sha256:../../etc", file: fd, size: 41) }
        #expect(remote.blobsOfB() == before, "no blob was added")
        // The daemon removes a cut-short blob once it sees the connection close.
        var ingest = ["?"]
        for _ in 0..<200 {
            ingest = (try? FileManager.default.contentsOfDirectory(atPath: remote.rootB + "/store/ingest")) ?? []
            if ingest.isEmpty { break }
            usleep(50_000)
        }
        #expect(ingest.isEmpty, "nothing left in ingest: \(ingest)")
        // Binding a manifest the store does not hold is refused too.
        #expect(throws: BatonError.self) {
            try client.bindPushed(PushBindRequest(name: "evil:1", digest: claimed, size: 10, mediaType: "application/vnd.oci.image.manifest.v1+json"))
        }
        let names = try DeployFixture.baton(["artifact", "ls", "--json"], root: remote.rootB).stdout
        #expect(!names.contains("evil"))
    }

    /// `baton dial-stdio` is one more local client of the socket: a user outside the socket's
    /// group who relays a blob upload through it is refused at the request's head, before a
    /// byte reaches the store; the same upload from the socket's group is stored.
    @Test func aBlobUploadThroughDialStdioFromOutsideTheSocketGroupIsRefused() throws {
        let root = FileManager.default.temporaryDirectory.path + "/baton-dial-\(UUID().uuidString.prefix(8))"
        let run = root + "-run"
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root); try? FileManager.default.removeItem(atPath: run) }
        #expect(chmod(run, 0o711) == 0)
        let socket = run + "/baton.sock"
        let daemon = try DaemonProcess(root: root, extra: ["--socket", socket])
        defer { daemon.stop() }
        #expect(chmod(socket, 0o666) == 0)
        let hello = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"  // sha256("hello")
        func upload(gid: Int) throws -> BatonExecutable.Result {
            let request = "PUT /v1/blobs/sha256:\(hello) HTTP/1.1\\r\\nHost: baton\\r\\nConnection: close\\r\\nContent-Length: 5\\r\\n\\r\\nhello"
            let relay = ["/usr/bin/setpriv", "--reuid=65534", "--regid=\(gid)", "--clear-groups", "--",
                         "/bin/sh", "-c", "printf '\(request)' | \"$0\" \"$@\""]
            return try BatonExecutable.run(["dial-stdio", "--socket", socket], prefix: relay)
        }
        let blob = root + "/store/blobs/sha256/" + hello
        let refused = try upload(gid: 65534)
        #expect(refused.stdout.hasPrefix("baton-dial-stdio \(DialStdioBanner.protocolVersion) "), "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stdout.contains("HTTP/1.1 403"), "\(refused.stdout)")
        #expect(!FileManager.default.fileExists(atPath: blob))
        let ingest = (try? FileManager.default.contentsOfDirectory(atPath: root + "/store/ingest")) ?? []
        #expect(ingest.isEmpty)
        let stored = try upload(gid: 0)
        #expect(stored.stdout.contains("HTTP/1.1 201"), "\(stored.stdout) \(stored.stderr)")
        #expect(FileManager.default.fileExists(atPath: blob))
    }

    @Test func unreachableHostsWrongKeysAndOtherBatonsGetOneErrorLine() throws {
        let remote = try Remote()
        defer { remote.finish() }
        func expectOneError(_ result: BatonExecutable.Result, _ text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
            #expect(result.status != 0, sourceLocation: sourceLocation)
            #expect(result.stderr.hasPrefix("error: ") && result.stderr.contains(text), "\(result.stderr)", sourceLocation: sourceLocation)
            #expect(result.stderr.unicodeScalars.filter { $0 == "\n" || $0 == "\r" }.count == 1 && result.stderr.hasSuffix("\n"),
                    "one line: \(result.stderr.debugDescription)", sourceLocation: sourceLocation)
        }
        // Nothing listens on the port: ssh's own reason, with the host named.
        let reserved = try ReservedPort()
        let closed = reserved.port
        defer { withExtendedLifetime(reserved) {} }
        expectOneError(try remote.remote(["ps"], url: "ssh://root@127.0.0.1:\(closed)"), "cannot reach ssh://root@127.0.0.1:\(closed) over ssh: ")
        expectOneError(try remote.remote(["ps"], url: "ssh://root@127.0.0.1:\(closed)"), "Connection refused")
        // A host that takes the connection and never says a word: ssh gives up after its
        // ConnectTimeout (10 s) during the banner exchange.
        let silent = try SilentListener()
        defer { silent.stop() }
        expectOneError(try remote.remote(["ps"], url: "ssh://root@127.0.0.1:\(silent.port)"), "cannot reach ssh://root@127.0.0.1:\(silent.port) over ssh: ")
        // A key the server does not accept.
        expectOneError(try remote.remote(["ps"], otherKey: true), "Permission denied")
        // No daemon at the remote root.
        expectOneError(try remote.remote(["ps"], root: remote.rootB + "-none"), "no daemon at \(remote.rootB)-none/baton.sock")
        // The remote has an older Baton without dial-stdio (as ArgumentParser refuses it).
        try remote.ssh.installFakeBaton("echo \"error: Unexpected argument 'dial-stdio' (see 'baton --help')\" >&2; exit 64")
        expectOneError(try remote.remote(["ps"]), "older Baton without 'baton dial-stdio'")
        // A Baton whose dial-stdio speaks another protocol.
        try remote.ssh.installFakeBaton("echo 'baton-dial-stdio 99 9.0.0'; cat >/dev/null")
        expectOneError(try remote.remote(["ps"]), "control protocol 99; this Baton speaks protocol \(DialStdioBanner.protocolVersion)")
        // No baton on the remote PATH at all.
        try remote.ssh.installFakeBaton(nil)
        expectOneError(try remote.remote(["ps"]), "has no 'baton' on the ssh user's PATH")
        // Something else answers.
        try remote.ssh.installFakeBaton("echo 'Welcome to the machine'")
        expectOneError(try remote.remote(["ps"]), "did not answer as 'baton dial-stdio'")
        try remote.ssh.installBaton()
        #expect(try remote.remote(["ps"]).status == 0)
    }

    @Test func localStoreCommandsAndBadHostsAreRefusedWithTheAlternative() throws {
        func run(_ arguments: [String]) throws -> BatonExecutable.Result {
            try BatonExecutable.run(arguments + ["--root", "/tmp/baton-remote-unused-\(getpid())"])
        }
        for command in [["artifact", "ls"], ["artifact", "gc"], ["artifact", "inspect", "x:1"], ["artifact", "rm", "x:1"]] {
            let result = try run(["--host", "ssh://nowhere.invalid"] + command)
            #expect(result.status != 0)
            #expect(result.stderr.hasPrefix("error: ") && result.stderr.contains("baton artifact push REF ssh://HOST"), "\(result.stderr)")
        }
        let publish = try run(["--host", "ssh://nowhere.invalid", "artifact", "publish", "x:1", "/tmp"])
        #expect(publish.stderr.contains("baton artifact push REF ssh://HOST"), "\(publish.stderr)")
        for bad in ["http://host", "ssh://-oProxyCommand=x", "ssh://host:99999", "ssh://us;er@host", "ssh://host/path"] {
            let result = try run(["--host", bad, "ps"])
            #expect(result.status != 0 && result.stderr.hasPrefix("error: ") && result.stderr.unicodeScalars.filter { $0 == "\n" }.count == 1, "\(bad): \(result.stderr)")
        }
        // A destination that is not ssh:// is a registry: the artifact is looked for first.
        let push = try run(["artifact", "push", "x:1", "registry.example/x"])
        #expect(push.status != 0 && push.stderr.hasPrefix("error: no artifact named x:1"), "\(push.stderr)")
        #expect(push.stderr.split(separator: "\n").count == 1)

        // An artifact on --base host runs on this host's own /usr: it is not pushed anywhere.
        let root = FileManager.default.temporaryDirectory.path + "/baton-hostbase-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/src", withIntermediateDirectories: true)
        try DeployFixture.baton(["artifact", "publish", "hosted:1", root + "/src", "--base", "host"], root: root)
        let hosted = try BatonExecutable.run(["artifact", "push", "hosted:1", "ssh://nowhere.invalid", "--root", root])
        #expect(hosted.status != 0 && hosted.stderr.hasPrefix("error: ") && hosted.stderr.contains("--base host"), "\(hosted.stderr)")
    }
}

/// `RemoteHost`: what `--host` accepts and what ssh is asked to run.
@Suite struct RemoteHostTests {
    @Test func parsesUserHostAndPort() throws {
        let remote = try RemoteHost(parsing: "ssh://deploy@example.com:2222")
        #expect(remote.user == "deploy" && remote.host == "example.com" && remote.port == 2222)
        let plain = try RemoteHost(parsing: "ssh://example.com")
        #expect(plain.user == nil && plain.port == nil)
        let v6 = try RemoteHost(parsing: "ssh://[::1]:22")
        #expect(v6.host == "::1" && v6.port == 22 && v6.description == "ssh://[::1]:22")
    }

    @Test func refusesWhatSshWouldReadAsAnOption() {
        for bad in ["ssh://-oProxyCommand=touch", "ssh://-lroot@host", "ssh://host:0", "ssh://a b", "tcp://host", "ssh://", "ssh://host/x"] {
            #expect(throws: BatonError.self, "\(bad)") { try RemoteHost(parsing: bad) }
        }
    }

    @Test func theRemoteCommandQuotesTheRootForTheShell() throws {
        var remote = try RemoteHost(parsing: "ssh://host")
        remote.remoteRoot = "/srv/it's here"
        #expect(remote.remoteCommand == "baton dial-stdio --root '/srv/it'\\''s here'")
        let arguments = remote.sshArguments(environment: "ssh -F /x/config")
        #expect(arguments.prefix(3) == ["ssh", "-F", "/x/config"])
        #expect(arguments.suffix(3) == ["--", "host", remote.remoteCommand])
        #expect(arguments.contains("ConnectTimeout=\(RemoteHost.connectTimeoutSeconds)"))
    }
}

