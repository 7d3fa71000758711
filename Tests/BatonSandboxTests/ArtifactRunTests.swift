import BatonTestSupport
import Foundation
import Testing

/// `baton run REF`: an artifact's layers as the read-only root and its config as defaults.
@Suite(.enabled(if: isRoot, "requires root"))
struct ArtifactRunTests {
    /// Publishes the shared busybox root as `base:1`, and a small app layer on top of it.
    func publishApp(_ fixture: SandboxFixture) throws {
        let base = try BatonBinary.run(["artifact", "publish", "base:1", fixture.rootfs], root: fixture.root)
        #expect(base.status == 0, "\(base.stderr)")
        let app = fixture.root + "/app-src"
        try FileManager.default.createDirectory(atPath: app, withIntermediateDirectories: true)
        try "v1\n".write(toFile: app + "/version", atomically: true, encoding: .utf8)
        let published = try BatonBinary.run(["artifact", "publish", "app:1", app, "--base", "base:1", "--dest", "/srv/app",
                                             "--cmd", "/bin/sh -c 'echo $GREETING from $(pwd): $(cat version)'",
                                             "--workdir", "/srv/app", "--env", "GREETING=hello", "--port", "8080"], root: fixture.root)
        #expect(published.status == 0, "\(published.stderr)")
    }

    @Test func runsTheConfigsCommandWithItsEnvAndWorkdir() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        try publishApp(fixture)
        let result = try BatonBinary.run(["run", "app:1"], root: fixture.root)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "hello from /srv/app: v1\n")
    }

    @Test func aGivenProgramReplacesTheCommand() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        try publishApp(fixture)
        let result = try BatonBinary.run(["run", "--env", "GREETING=hi", "app:1", "--", "/bin/sh", "-c", "echo $GREETING; cat /srv/app/version"], root: fixture.root)
        #expect(result.stdout == "hi\nv1\n")
    }

    /// The program finds what an app's sandbox would tell it: its port, digest and sandbox.
    @Test func batonsOwnVariablesAreSetAsInAnAppsSandbox() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        try publishApp(fixture)
        let inspected = try BatonBinary.run(["artifact", "inspect", "app:1"], root: fixture.root).stdout
        let digest = inspected.split(separator: "\n").first { $0.hasPrefix("digest:") }?.split(separator: " ").last.map(String.init)
        let result = try BatonBinary.run(["run", "--name", "one-off", "app:1", "--", "/bin/sh", "-c", "echo $PORT $BATON_SANDBOX $BATON_DIGEST"],
                                         root: fixture.root)
        #expect(result.status == 0, "\(result.stderr)")
        let fields = result.stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(fields.count == 3 && fields[0] == "8080" && fields[1] == "one-off", "\(result.stdout)")
        #expect(fields.count == 3 && digest != nil && fields[2] == digest, "\(result.stdout) \(inspected)")
        let overridden = try BatonBinary.run(["run", "--env", "PORT=9000", "app:1", "--", "/bin/sh", "-c", "echo $PORT"], root: fixture.root)
        #expect(overridden.stdout == "9000\n", "the operator's --env wins")
    }

    @Test func theOverlayRootIsReadOnlyWithATmpfsTmpAndLeavesNoMount() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish(checking: ["art-ro"]) }
        try publishApp(fixture)
        let result = try BatonBinary.run(["run", "--name", "art-ro", "app:1", "--", "/bin/sh", "-c",
                                          "touch /srv/app/x 2>&1; echo t > /tmp/t && cat /tmp/t; grep ' / ' /proc/mounts"], root: fixture.root)
        #expect(result.stdout.contains("Read-only file system"))
        #expect(result.stdout.contains("t\n"))
        #expect(result.stdout.contains("overlay / overlay ro"))
        // No upper or work dir: nothing of the sandbox can be written into a layer.
        #expect(!result.stdout.contains("upperdir"))
    }

    @Test func digestReferencesRunTheSameBytes() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        try publishApp(fixture)
        let inspect = try BatonBinary.run(["artifact", "inspect", "app:1", "--json"], root: fixture.root)
        let object = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any]
        let digest = try #require(object?["digest"] as? String)
        let result = try BatonBinary.run(["run", digest, "--", "/bin/cat", "/srv/app/version"], root: fixture.root)
        #expect(result.stdout == "v1\n", "\(result.stderr)")
    }

    @Test func gcKeepsTheLayersOfARunningSandboxEvenAfterItsNameIsRemoved() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish(checking: ["gc-box"]) }
        try publishApp(fixture)
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: BatonBinary.path)
        process.arguments = ["run", "--name", "gc-box", "app:1", "--", "/bin/sh", "-c", "sleep 2; cat /srv/app/version"]
        process.environment = ["BATON_ROOT": fixture.root]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let record = "\(fixture.root)/sandboxes/gc-box/sandbox.json"
        for _ in 0..<300 where !FileManager.default.fileExists(atPath: record) { usleep(10_000) }
        #expect(try BatonBinary.run(["artifact", "rm", "app:1"], root: fixture.root).status == 0)
        let gc = try BatonBinary.run(["artifact", "gc", "--json"], root: fixture.root)
        #expect(gc.stdout.contains("\"removed_layers\" : 0"), "\(gc.stdout)")
        let output = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(String(decoding: output, as: UTF8.self) == "v1\n")
        // Once the sandbox is gone, nothing keeps the unnamed artifact.
        let after = try BatonBinary.run(["artifact", "gc", "--json"], root: fixture.root)
        #expect(!after.stdout.contains("\"removed_layers\" : 0"), "\(after.stdout)")
    }

    @Test func anUnknownOrMalformedReferenceIsOneErrorLine() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        for ref in ["nothing:1", "Bad Ref", "sha256:1234"] {
            let result = try BatonBinary.run(["run", ref], root: fixture.root)
            #expect(result.status != 0)
            #expect(result.stderr.hasPrefix("error: "), "\(ref): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1)
        }
    }

    @Test func hostBaseArtifactsSeeTheHostsUsrReadOnly() throws {
        let fixture = try SandboxFixture()
        defer { fixture.finish() }
        let app = fixture.root + "/host-app"
        try FileManager.default.createDirectory(atPath: app, withIntermediateDirectories: true)
        let published = try BatonBinary.run(["artifact", "publish", "hostapp:1", app, "--base", "host", "--cmd", "/bin/true"], root: fixture.root)
        #expect(published.status == 0, "\(published.stderr)")
        let result = try BatonBinary.run(["run", "hostapp:1", "--", "/bin/sh", "-c", "test -x /usr/bin/env && echo usr; touch /usr/planted 2>&1; test -e /etc/shadow || echo no-shadow"], root: fixture.root)
        #expect(result.stdout.contains("usr\n"))
        #expect(result.stdout.contains("Read-only file system"))
        #expect(result.stdout.contains("no-shadow"))
        #expect(!FileManager.default.fileExists(atPath: "/usr/planted"))
    }
}
