import BatonTestSupport
import Foundation
import Glibc
import Testing

/// What a hostile or broken registry, or a user's mistake, gets: one `error:` line, a non-zero
/// exit, and a store exactly as it was (index.json, blob names, nothing left in ingest).
@Suite struct RegistryBadInputTests {
    /// `Tests/Fixtures/hostile_registry.py` on a free port; killed with the test.
    final class HostileRegistry {
        let port: Int
        let process = ChildProcess()
        var host: String { "127.0.0.1:\(port)" }

        init() throws {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Fixtures/hostile_registry.py").path
            port = try ReservedPort.released()
            let command = TestProcessLifetime.tied(["/usr/bin/python3", script, String(port)])
            process.executableURL = URL(fileURLWithPath: command[0])
            process.arguments = Array(command.dropFirst())
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try TestProcessLifetime.start(process)
            for _ in 0..<200 where process.isRunning && !RegistryServer.listening(port) { usleep(25_000) }
            guard RegistryServer.listening(port) else { throw DaemonProcessError("the hostile registry did not start") }
        }

        func stop() {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
    }

    /// Runs a pull that must fail: one error line containing `expected`, store unchanged.
    static func refusedPull(_ arguments: [String], root: String, expected: String) throws {
        let before = RegistryCLI.storeListing(root)
        let result = try RegistryCLI.baton(["artifact", "pull"] + arguments, root: root)
        #expect(result.status != 0, "\(arguments) must fail")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("error: "), "one error line: \(result.stderr)")
        #expect(result.stderr.contains(expected), "\(arguments): expected '\(expected)' in \(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(RegistryCLI.storeListing(root) == before, "a refused pull leaves the store as it was")
    }

    @Test(.enabled(if: geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"), "requires root and python3"))
    func hostileRegistryRepliesAreRefusedAndLeaveTheStoreAsItWas() throws {
        let hostile = try HostileRegistry()
        defer { hostile.stop() }
        let root = try RegistryPushPullTests.rootWithApps([1])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let host = hostile.host
        try Self.refusedPull(["\(host)/liar/app:1", "--insecure"], root: root, expected: "digest mismatch")
        try Self.refusedPull(["\(host)/big/app:1", "--insecure"], root: root, expected: "more than the 4194304")
        try Self.refusedPull(["\(host)/big-unsized/app:1", "--insecure"], root: root, expected: "more than the 4194304")
        try Self.refusedPull(["\(host)/helm/app:1", "--insecure"], root: root, expected: "unsupported media type 'application/vnd.cncf.helm.config.v1+json'")
        try Self.refusedPull(["\(host)/schema1/app:1", "--insecure"], root: root, expected: "schemaVersion 1")
        try Self.refusedPull(["\(host)/redirect/app:1", "--insecure"], root: root, expected: "only https (http with --insecure) is followed")
        try Self.refusedPull(["\(host)/long/app:1", "--insecure"], root: root, expected: "more bytes arrived")
        // Credentials go to the registry alone: a download it redirects to another host
        // ("localhost" rather than 127.0.0.1) is fetched without them, and verified.
        let docker = root + "-docker"
        defer { try? FileManager.default.removeItem(atPath: docker) }
        try FileManager.default.createDirectory(atPath: docker, withIntermediateDirectories: true)
        try #"{"auths":{"\#(host)":{"auth":"\#(Data("u:p".utf8).base64EncodedString())"}}}"#
            .write(toFile: docker + "/config.json", atomically: true, encoding: .utf8)
        let guarded = try RegistryCLI.baton(["artifact", "pull", "\(host)/guarded/app:1", "--insecure"], root: root,
                                            environment: ["DOCKER_CONFIG": docker])
        #expect(guarded.status == 0, "the redirected download must carry no credentials: \(guarded.stderr)")
        // A pinned digest the registry's manifest does not hash to.
        let wrong = "sha256:" + String(repeating: "ab", count: 32)
        try Self.refusedPull(["\(host)/plain/app@\(wrong)", "--insecure"], root: root, expected: "hashes to")
    }

    @Test(.enabled(if: RegistryPushPullTests.ready, "requires root, docker-registry and skopeo"))
    func blobTamperedInTheRegistrysStorageIsRefused() throws {
        let registry = try RegistryServer()
        defer { registry.stop() }
        let root = try RegistryPushPullTests.rootWithApps([1])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let other = root + "-other"
        defer { try? FileManager.default.removeItem(atPath: other) }
        let pushed = try RegistryCLI.baton(["artifact", "push", "app:1", "\(registry.host)/team/app:1", "--insecure"], root: root)
        #expect(pushed.status == 0, "\(pushed.stderr)")
        // The attacker owns the registry's disk: the app layer keeps its size, not its bytes.
        let layer = try RegistryPushPullTests.blobs(of: RegistryCLI.lastLine(pushed), root: root)[2]
        let path = registry.blobDataPath(layer.digest)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 0xff
        try bytes.write(to: URL(fileURLWithPath: path))
        // A root with something in it already, which must stay exactly as it is.
        try DeployFixture.publishBase(root: other)
        try Self.refusedPull(["\(registry.host)/team/app:1", "--insecure"], root: other, expected: "digest mismatch")
    }

    @Test(.enabled(if: RegistryPushPullTests.ready, "requires root, docker-registry and skopeo"))
    func plainHTTPNeedsInsecureUnreachableRegistriesAndBadReferencesAreOneLine() throws {
        let registry = try RegistryServer()
        defer { registry.stop() }
        let root = try RegistryPushPullTests.rootWithApps([1])
        defer { try? FileManager.default.removeItem(atPath: root) }
        // Plain HTTP without --insecure: refused, the message says what to pass (localhost too).
        try Self.refusedPull(["\(registry.host)/team/app:1"], root: root, expected: "pass --insecure")
        let local = "localhost:\(registry.port)"
        try Self.refusedPull(["\(local)/team/app:1"], root: root, expected: "pass --insecure")
        let push = try RegistryCLI.baton(["artifact", "push", "app:1", "\(registry.host)/team/app:1"], root: root)
        #expect(push.status != 0 && push.stderr.contains("pass --insecure") && push.stderr.split(separator: "\n").count == 1, "\(push.stderr)")
        // Nothing listens there.
        // Held, never served: nothing can listen there meanwhile.
        let reserved = try ReservedPort()
        let closed = reserved.port
        defer { withExtendedLifetime(reserved) {} }
        try Self.refusedPull(["127.0.0.1:\(closed)/team/app:1", "--insecure"], root: root, expected: "cannot reach registry 127.0.0.1:\(closed) (GET /v2/team/app/manifests/1): Connection refused (errno 111)")
        // Unknown image, malformed references and names.
        try Self.refusedPull(["\(registry.host)/team/missing:1", "--insecure"], root: root, expected: "404")
        try Self.refusedPull(["\(registry.host)/Team/App:1", "--insecure"], root: root, expected: "invalid repository")
        try Self.refusedPull(["\(registry.host)/team/app@sha256:123", "--insecure"], root: root, expected: "invalid digest")
        try Self.refusedPull(["\(registry.host)/team/app:1", "--insecure", "--as", "Bad Name"], root: root, expected: "invalid reference")
        let sshPush = try RegistryCLI.baton(["artifact", "push", "app:1", "team/app:1"], root: root)
        #expect(sshPush.status != 0 && sshPush.stderr.contains("invalid registry reference"), "\(sshPush.stderr)")

        // A tag that moves never rebinds a name: the second pull is refused and says --as.
        #expect(try RegistryCLI.baton(["artifact", "push", "app:1", "\(registry.host)/team/app:moving", "--insecure"], root: root).status == 0)
        let other = root + "-other"
        defer { try? FileManager.default.removeItem(atPath: other) }
        #expect(try RegistryCLI.baton(["artifact", "pull", "\(registry.host)/team/app:moving", "--insecure"], root: other).status == 0)
        try RegistryPushPullTests.publishApp(2, root: root)
        #expect(try RegistryCLI.baton(["artifact", "push", "app:2", "\(registry.host)/team/app:moving", "--insecure"], root: root).status == 0)
        try Self.refusedPull(["\(registry.host)/team/app:moving", "--insecure"], root: other, expected: "--as NAME:VERSION")
        let renamed = try RegistryCLI.baton(["artifact", "pull", "\(registry.host)/team/app:moving", "--insecure", "--as", "team/app:moved"], root: other)
        #expect(renamed.status == 0, "\(renamed.stderr)")
    }
}
