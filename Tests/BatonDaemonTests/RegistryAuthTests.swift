import BatonTestSupport
import Foundation
import Glibc
import Testing

/// Credentials against a real registry with htpasswd (bcrypt) auth: none, wrong, right
/// (`baton login`, stored 0600), Docker's config.json as a fallback, and `logout`.
@Suite struct RegistryAuthTests {
    @Test(.enabled(if: RegistryPushPullTests.ready, "requires root, docker-registry and skopeo"))
    func htpasswdRegistryNeedsLoginRefusesWrongCredentialsAndAcceptsDockerConfig() throws {
        let registry = try RegistryServer(auth: .htpasswd(user: "ci", password: "s3cret-pass"))
        defer { registry.stop() }
        let root = try RegistryPushPullTests.rootWithApps([1])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let home = root + "-home"
        defer { try? FileManager.default.removeItem(atPath: home) }
        // No credentials anywhere: HOME points at an empty directory.
        let clean = ["HOME": home, "DOCKER_CONFIG": home + "/none"]
        let image = "\(registry.host)/team/app:1"

        let anonymous = try RegistryCLI.baton(["artifact", "push", "app:1", image, "--insecure"], root: root, environment: clean)
        #expect(anonymous.status != 0)
        #expect(anonymous.stderr.hasPrefix("error: ") && anonymous.stderr.split(separator: "\n").count == 1, "\(anonymous.stderr)")
        #expect(anonymous.stderr.contains("baton login \(registry.host)"), "\(anonymous.stderr)")

        let wrong = try RegistryCLI.baton(["login", registry.host, "--username", "ci", "--password-stdin", "--insecure"],
                                          root: root, input: "not-the-password\n", environment: clean)
        #expect(wrong.status != 0 && wrong.stderr.contains("refused the credentials"), "\(wrong.stderr)")
        #expect(!FileManager.default.fileExists(atPath: root + "/auth.json"), "wrong credentials are not stored")

        let login = try RegistryCLI.baton(["login", registry.host, "--username", "ci", "--password-stdin", "--insecure"],
                                          root: root, input: "s3cret-pass\n", environment: clean)
        #expect(login.status == 0, "\(login.stderr)")
        var info = stat()
        #expect(stat(root + "/auth.json", &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(stat(root, &info) == 0 && info.st_mode & 0o777 == 0o700)
        let stored = try String(contentsOfFile: root + "/auth.json", encoding: .utf8)
        #expect(!stored.contains("s3cret-pass"), "stored as base64 like Docker's, not echoed in clear")

        let pushed = try RegistryCLI.baton(["artifact", "push", "app:1", image, "--insecure"], root: root, environment: clean)
        #expect(pushed.status == 0, "\(pushed.stderr)")
        let pulled = try RegistryCLI.baton(["artifact", "pull", image, "--insecure", "--as", "again:1"], root: root, environment: clean)
        #expect(pulled.status == 0 && RegistryCLI.lastLine(pulled) == RegistryCLI.lastLine(pushed), "\(pulled.stderr)")

        #expect(try RegistryCLI.baton(["logout", registry.host], root: root, environment: clean).status == 0)
        let loggedOut = try RegistryCLI.baton(["artifact", "pull", image, "--insecure", "--as", "again:2"], root: root, environment: clean)
        #expect(loggedOut.status != 0 && loggedOut.stderr.contains("requires credentials"), "\(loggedOut.stderr)")
        let twice = try RegistryCLI.baton(["logout", registry.host], root: root, environment: clean)
        #expect(twice.status != 0 && twice.stderr.contains("not logged in"), "\(twice.stderr)")

        // Docker's short forms: -u, and -p with a warning (other users see arguments in ps).
        let short = try RegistryCLI.baton(["login", registry.host, "-u", "ci", "-p", "s3cret-pass", "--insecure"], root: root, environment: clean)
        #expect(short.status == 0 && short.stderr.hasPrefix("warning: a password given with --password is visible"), "\(short.stderr)")
        #expect(try RegistryCLI.baton(["artifact", "pull", image, "--insecure", "--as", "again:5"], root: root, environment: clean).status == 0)
        #expect(try RegistryCLI.baton(["logout", registry.host], root: root, environment: clean).status == 0)
        // With no terminal to ask on and no password given: one line, nothing stored.
        let unasked = try RegistryCLI.baton(["login", registry.host, "-u", "ci", "--insecure"], root: root, environment: clean)
        #expect(unasked.status != 0 && unasked.stderr.hasPrefix("error: give --username USER and --password-stdin"), "\(unasked.stderr)")
        #expect(unasked.stderr.split(separator: "\n").count == 1)
        let both = try RegistryCLI.baton(["login", registry.host, "-u", "ci", "-p", "x", "--password-stdin"], root: root, environment: clean)
        #expect(both.status != 0 && both.stderr.hasPrefix("error: give --password-stdin or --password, not both"), "\(both.stderr)")
        let storedAfter = (try? String(contentsOfFile: root + "/auth.json", encoding: .utf8)) ?? ""
        #expect(!storedAfter.contains(registry.host), "refused logins store nothing: \(storedAfter)")

        // Docker's config file, as `docker login` writes it, is the fallback.
        try FileManager.default.createDirectory(atPath: home + "/docker", withIntermediateDirectories: true)
        let auth = Data("ci:s3cret-pass".utf8).base64EncodedString()
        try #"{"auths":{"\#(registry.host)":{"auth":"\#(auth)"}}}"#.write(toFile: home + "/docker/config.json", atomically: true, encoding: .utf8)
        let viaDocker = try RegistryCLI.baton(["artifact", "pull", image, "--insecure", "--as", "again:3"], root: root,
                                              environment: ["HOME": home, "DOCKER_CONFIG": home + "/docker"])
        #expect(viaDocker.status == 0, "\(viaDocker.stderr)")
        let badDocker = Data("ci:wrong".utf8).base64EncodedString()
        try #"{"auths":{"http://\#(registry.host)/v2/":{"auth":"\#(badDocker)"}}}"#.write(toFile: home + "/docker/config.json", atomically: true, encoding: .utf8)
        let wrongDocker = try RegistryCLI.baton(["artifact", "pull", image, "--insecure", "--as", "again:4"], root: root,
                                                environment: ["HOME": home, "DOCKER_CONFIG": home + "/docker"])
        #expect(wrongDocker.status != 0 && wrongDocker.stderr.contains("refused the credentials"), "\(wrongDocker.stderr)")
    }
}

/// The bearer-token flow: docker-registry with `auth: token:` sends a challenge naming a
/// realm (a token server the test starts, signing with a key openssl made); Baton fetches a
/// token for the challenge's service and scope with its credentials, and retries.
@Suite struct RegistryTokenAuthTests {
    @Test(.enabled(if: RegistryPushPullTests.ready && FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"),
                   "requires root, docker-registry, skopeo and openssl"))
    func bearerTokenFlowPushesAndPullsAndRefusesWrongCredentials() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-token-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let made = try RegistryCLI.program("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem",
            "-days", "1", "-subj", "/CN=baton-test-token-issuer",
        ])
        #expect(made.status == 0, "\(made.stderr)")
        let tokenPort = try ReservedPort.released()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/token_server.py").path
        let tokenServer = ChildProcess()
        let command = TestProcessLifetime.tied([
            "/usr/bin/python3", script, String(tokenPort), directory + "/key.pem", directory + "/cert.pem", "ci", "t0ken-pass",
        ])
        tokenServer.executableURL = URL(fileURLWithPath: command[0])
        tokenServer.arguments = Array(command.dropFirst())
        tokenServer.standardOutput = FileHandle.nullDevice
        tokenServer.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: {
            _ = FileManager.default.createFile(atPath: directory + "/token.log", contents: nil)
            return directory + "/token.log"
        }()))
        try TestProcessLifetime.start(tokenServer)
        defer {
            if tokenServer.isRunning { kill(tokenServer.processIdentifier, SIGKILL) }
            tokenServer.waitUntilExit()
        }
        for _ in 0..<200 where tokenServer.isRunning && !RegistryServer.listening(tokenPort) { usleep(25_000) }
        let registry = try RegistryServer(auth: .token(realm: "http://127.0.0.1:\(tokenPort)/token", certificate: directory + "/cert.pem"))
        defer { registry.stop() }
        let root = try RegistryPushPullTests.rootWithApps([1])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let clean = ["HOME": directory, "DOCKER_CONFIG": directory + "/none"]
        let image = "\(registry.host)/team/app:1"

        let anonymous = try RegistryCLI.baton(["artifact", "push", "app:1", image, "--insecure"], root: root, environment: clean)
        #expect(anonymous.status != 0 && anonymous.stderr.contains("requires credentials"), "\(anonymous.stderr)")
        let wrong = try RegistryCLI.baton(["login", registry.host, "--username", "ci", "--password-stdin", "--insecure"],
                                          root: root, input: "nope", environment: clean)
        #expect(wrong.status != 0 && wrong.stderr.contains("refused the credentials"), "\(wrong.stderr)")
        let login = try RegistryCLI.baton(["login", registry.host, "--username", "ci", "--password-stdin", "--insecure"],
                                          root: root, input: "t0ken-pass\n", environment: clean)
        #expect(login.status == 0, "\(login.stderr)")
        let pushed = try RegistryCLI.baton(["artifact", "push", "app:1", image, "--insecure"], root: root, environment: clean)
        #expect(pushed.status == 0, "\(pushed.stderr)")
        let pulled = try RegistryCLI.baton(["artifact", "pull", image, "--insecure", "--as", "back:1"], root: root, environment: clean)
        #expect(pulled.status == 0 && RegistryCLI.lastLine(pulled) == RegistryCLI.lastLine(pushed), "\(pulled.stderr)")
        let tokenLog = (try? String(contentsOfFile: directory + "/token.log", encoding: .utf8)) ?? ""
        #expect(tokenLog.contains("scope=repository%3Ateam%2Fapp%3Apull%2Cpush") || tokenLog.contains("scope=repository:team/app:pull,push"),
                "the token was asked for the push scope: \(tokenLog)")
    }
}
