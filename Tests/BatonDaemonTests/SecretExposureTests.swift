import BatonOS
import Foundation
import Glibc
import Testing

/// Secrets are stored only in state.db, reach the app only through its program's environment,
/// and are never printed: each test tries a way one could leak and looks for the value.
@Suite(.serialized, .enabled(if: geteuid() == 0, "requires root"))
struct SecretExposureTests {
    @Test func aSecretNeverAppearsInCLIOutputTheDaemonsLogsTheSandboxsLogOrAnyFileButStateDB() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        let token = "tok-\(UUID().uuidString)"
        let key = "key-\(UUID().uuidString)"
        let keyFile = "\(fixture.root)-key.pem"
        try "-----BEGIN KEY-----\n\(key)\n-----END KEY-----\n".write(toFile: keyFile, atomically: true, encoding: .utf8)
        defer { unlink(keyFile) }
        try fixture.publishChatty("1", line: "starting")
        try fixture.publishSite("bad", healthPath: "/missing")

        var outputs: [BatonExecutable.Result] = []
        func run(_ arguments: [String]) throws {
            outputs.append(try fixture.baton(arguments, allowFailure: true))
        }
        try run(["app", "create", "api", "--host", "api.test", "--secret", "TOKEN=\(token)", "--secret-file", "KEY=\(keyFile)",
                 "--health-timeout", "2", "--json"])
        try run(["app", "set", "web", "--secret", "TOKEN=\(token)", "--secret-file", "KEY=\(keyFile)", "--json"])
        try run(["app", "set", "web", "--health-timeout", "2"])
        try run(["deploy", "web", "site:1"])
        try run(["deploy", "web", "site:bad"])                      // a failure prints green's last log lines
        try run(["app", "set", "web", "--env", "A=1", "--health-path", "/missing"])  // a failed config swap
        try run(["app", "set", "web", "--secret", "TOKEN=\(token)"])  // the same value again
        try run(["app", "set", "web", "--secret", "TOKEN"])          // a mistake that is all value
        try run(["app", "set", "web", "--secret", "TOKEN=\(token)", "--env", "TOKEN=x"])
        try run(["app", "set", "web", "--env", "TOKEN=\(token)"])   // a secret turned plain is refused
        try run(["rollback", "web"])
        for listing in [["app", "inspect", "web"], ["app", "ls"], ["history"], ["ps", "--all"]] {
            try run(listing)
            try run(listing + ["--json"])
        }
        try run(["logs", "web"])
        let serving = try fixture.servingSandbox().id
        try run(["exec", serving, "--", "/bin/busybox", "env"])

        // The app has them, exactly.
        let environment = try fixture.servingEnvironment()
        #expect(environment.contains("TOKEN=\(token)"))
        #expect(environment.contains("KEY=-----BEGIN KEY-----\n\(key)\n-----END KEY-----\n"))
        #expect(try fixture.inspect()["secrets"] as? [String] == ["KEY=<secret>", "TOKEN=<secret>"])

        for output in outputs {
            for value in [token, key] {
                #expect(!output.stdout.contains(value) && !output.stderr.contains(value), "printed: \(output.stdout) \(output.stderr)")
            }
        }
        #expect(outputs.contains { $0.stderr == "error: invalid --secret: use KEY=VALUE (the value is not shown)\n" })
        let daemonLog = fixture.daemon.log
        #expect(!daemonLog.contains(token) && !daemonLog.contains(key))
        for path in try filesUnder(fixture.root) where !path.hasPrefix(fixture.root + "/state.db") {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            for value in [token, key] {
                #expect(bytes.range(of: Data(value.utf8)) == nil, "\(value) is in \(path)")
            }
        }
    }

    @Test func execIntoAnAppSandboxGetsItsEnvironmentButNotItsSecrets() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try fixture.publishSite("1")
        try fixture.baton(["app", "set", "web", "--env", "MODE=prod", "--secret", "TOKEN=hunter2"])
        try fixture.baton(["deploy", "web", "site:1"])
        let exec = try fixture.baton(["exec", try fixture.servingSandbox().id, "--", "/bin/busybox", "env"])
        let variables = exec.stdout.split(separator: "\n").map(String.init)
        #expect(variables.contains("MODE=prod") && variables.contains("PORT=8000") && variables.contains("BATON_APP=web"))
        #expect(!variables.contains { $0.hasPrefix("TOKEN=") }, "\(variables)")
        #expect(try fixture.servingEnvironment().contains("TOKEN=hunter2"), "the app itself has it")
    }

    /// A member of the socket's group who is not root guesses a secret: were "unchanged" the
    /// answer to a right guess, the control API would confirm secrets one guess at a time.
    @Test func aSocketGroupMemberCannotLearnWhetherAGuessEqualsAStoredSecret() throws {
        let run = FileManager.default.temporaryDirectory.appendingPathComponent("baton-run-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: run) }
        #expect(chmod(run, 0o711) == 0)
        let fixture = try DeployFixture(daemonArguments: ["--socket", run + "/baton.sock"])
        defer { fixture.finish() }
        try fixture.publishSite("1")
        try fixture.baton(["app", "set", "web", "--secret", "TOKEN=hunter2"])
        try fixture.baton(["deploy", "web", "site:1"])
        let member = ["/usr/bin/setpriv", "--reuid=65534", "--regid=0", "--clear-groups"]

        // The right guess first, then a wrong one: the same answer, a swap each time.
        for guess in ["hunter2", "wrong"] {
            let answer = try fixture.baton(["app", "set", "web", "--secret", "TOKEN=\(guess)", "--json"], prefix: member)
            let result = try JSONSerialization.jsonObject(with: Data(answer.stdout.utf8)) as? [String: Any]
            #expect(result?["changes"] as? [String] == ["secrets"], "\(guess): \(answer.stdout) \(answer.stderr)")
            #expect(result?["deployment"] is [String: Any], "a swap either way")
            #expect(try fixture.servingEnvironment().contains("TOKEN=\(guess)"))
        }
        // Root, who can read state.db anyway, is told the truth.
        #expect(try fixture.baton(["app", "set", "web", "--secret", "TOKEN=wrong"]).stdout == "web: configuration 4 unchanged\n")
    }

    /// Every regular file under `root`, however deep, across mounts (the sandboxes' records
    /// are on a tmpfs of their own); sockets and the like left out.
    private func filesUnder(_ root: String) throws -> [String] {
        var files: [String] = []
        func walk(_ directory: String) {
            for name in (try? DirectoryListing.names(directory)) ?? [] {
                let path = directory + "/" + name
                var info = stat()
                guard lstat(path, &info) == 0 else { continue }
                switch info.st_mode & S_IFMT {
                case S_IFDIR: walk(path)
                case S_IFREG: files.append(path)
                default: continue
                }
            }
        }
        walk(root)
        #expect(files.contains { $0.hasSuffix("/sandbox.json") } && files.contains { $0.hasSuffix("/output.log") }, "\(files.count) files")
        return files
    }
}
