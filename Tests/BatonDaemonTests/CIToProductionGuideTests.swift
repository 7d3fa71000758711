import BatonTestSupport
import Foundation
import Glibc
import Testing

/// docs/ci-to-production.md, run from its own text: the Batonfile and `ci/deploy.sh` blocks
/// build, push by digest and deploy over ssh to a daemon standing for the host, through a real
/// docker-registry and a real sshd on 127.0.0.1; then the rollback block moves back.
@Suite(.serialized, .enabled(if: RegistryPushPullTests.ready && FileManager.default.fileExists(atPath: "/usr/sbin/sshd"),
                             "requires root, docker-registry, skopeo and openssh-server"))
struct CIToProductionGuideTests {
    static let guide = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../docs/ci-to-production.md").standardized.path

    /// The text of the first fenced block marked `language` whose text starts with `prefix`.
    static func block(_ markdown: String, language: String, startingWith prefix: String = "") -> String? {
        let fence = "```"
        var blocks: [String] = []
        var current: [Substring]?
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            if let lines = current {
                if line == fence {
                    blocks.append(lines.joined(separator: "\n") + "\n")
                    current = nil
                } else {
                    current = lines + [line]
                }
            } else if line == fence + language {
                current = []
            }
        }
        return blocks.first { $0.hasPrefix(prefix) }
    }

    /// `/bin/sh -c script` in `directory`, with the built `baton` first on PATH and `environment`.
    static func sh(_ script: String, in directory: String, environment: [String]) throws -> BatonExecutable.Result {
        let binaries = URL(fileURLWithPath: BatonExecutable.path).deletingLastPathComponent().path
        return try BatonExecutable.run(["-c", "cd '\(directory)' && " + script],
                                       prefix: ["/usr/bin/env", "PATH=\(binaries):/usr/bin:/bin"] + environment, executable: "/bin/sh")
    }

    @Test func theGuidesBatonfileAndScriptShipTheAppToTheHostOverSSHAndItsRollbackGoesBack() throws {
        let text = try String(contentsOfFile: Self.guide, encoding: .utf8)
        let hostSetup = try #require(Self.block(text, language: "sh", startingWith: "baton app create"))
        let batonfile = try #require(Self.block(text, language: "Dockerfile"))
        let script = try #require(Self.block(text, language: "sh", startingWith: "#!/bin/sh\n# ci/deploy.sh"))
        let rollback = try #require(Self.block(text, language: "sh", startingWith: "baton --host ssh://deploy@prod.example.com rollback"))

        let registry = try RegistryServer()
        defer { registry.stop() }
        let base = FileManager.default.temporaryDirectory.path + "/baton-guide-\(UUID().uuidString.prefix(8))"
        let (platform, ci, hostRoot, repository) = (base + "-platform", base + "-ci", base + "-host", base + "-repo")
        defer { for path in [platform, ci, repository] { try? FileManager.default.removeItem(atPath: path) } }

        // The platform team's base image, in the registry the Batonfile names.
        try DeployFixture.publishBase(root: platform)
        let pushedBase = try RegistryCLI.baton(["artifact", "push", "base:1", "\(registry.host)/base/busybox:1", "--insecure"], root: platform)
        try #require(pushedBase.status == 0, "\(pushedBase.stderr)")

        // The host: a daemon in its own root, the ssh sessions' default; the app made there.
        let daemon = try DaemonProcess(root: hostRoot)
        defer {
            _ = try? DeployFixture.baton(["app", "rm", "web"], root: hostRoot, allowFailure: true)
            daemon.stop()
            TestNetwork.remove(root: hostRoot)
            try? FileManager.default.removeItem(atPath: hostRoot)
        }
        let ssh = try TestSSHServer(defaultRoot: hostRoot)
        defer { ssh.stop() }
        try ssh.installBaton()
        let created = try Self.sh(hostSetup, in: "/", environment: ["BATON_ROOT=\(hostRoot)"])
        try #require(created.status == 0, "\(created.stderr)")

        // The app's repository, with the guide's Batonfile and script.
        try FileManager.default.createDirectory(atPath: repository + "/site", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: repository + "/ci", withIntermediateDirectories: true)
        try batonfile.replacingOccurrences(of: "registry.example.com", with: registry.host)
            .write(toFile: repository + "/Batonfile", atomically: true, encoding: .utf8)
        try script.write(toFile: repository + "/ci/deploy.sh", atomically: true, encoding: .utf8)
        try "ok\n".write(toFile: repository + "/site/health", atomically: true, encoding: .utf8)
        let job = ["BATON_ROOT=\(ci)", "REGISTRY=\(registry.host)/team", "DEPLOY_HOST=\(ssh.url)", "INSECURE=--insecure",
                   "BATON_SSH_COMMAND=ssh -F \(ssh.directory)/ssh_config"]
        func ship(_ page: String, commit: String) throws -> String {
            try page.write(toFile: repository + "/site/index.html", atomically: true, encoding: .utf8)
            let run = try Self.sh("sh ci/deploy.sh", in: repository, environment: job + ["GIT_SHA=\(commit)"])
            try #require(run.status == 0, "ci/deploy.sh failed: \(run.stdout)\(run.stderr)")
            let digest = try #require(run.stdout.firstMatch(of: #/built and pushed \S+/web@(sha256:[0-9a-f]{64})/#).map { String($0.1) },
                                      "\(run.stdout)")
            #expect(run.stdout.contains(digest) && run.stdout.contains("succeeded"), "history names the deploy: \(run.stdout)")
            return digest
        }

        let first = try ship("release one\n", commit: "1111111")
        #expect(HTTPGet.fetch(port: daemon.port, host: "web.example.com", path: "/")?.body == "release one\n")
        let second = try ship("release two\n", commit: "2222222")
        #expect(second != first)
        #expect(HTTPGet.fetch(port: daemon.port, host: "web.example.com", path: "/")?.body == "release two\n")
        // The host pulled exactly what CI pushed, by digest, and only the app's own blobs.
        let index = try String(contentsOfFile: hostRoot + "/store/index.json", encoding: .utf8)
        #expect(index.contains(first) && index.contains(second))

        let back = try Self.sh(rollback.replacingOccurrences(of: "ssh://deploy@prod.example.com", with: ssh.url), in: "/",
                               environment: job.filter { $0.hasPrefix("BATON_SSH_COMMAND=") })
        #expect(back.status == 0, "\(back.stderr)")
        #expect(HTTPGet.fetch(port: daemon.port, host: "web.example.com", path: "/")?.body == "release one\n")
    }
}
