import Foundation
import Glibc
import Testing

/// App volumes through a real daemon and real sandboxes: a directory under the root, bound into
/// every sandbox of the app, kept across swaps, rollbacks, daemon restarts and `app rm`.
@Suite(.serialized, .enabled(if: geteuid() == 0, "requires root"))
struct AppVolumeTests {
    /// `counter:VERSION`: busybox httpd whose /cgi-bin/count adds one to /data/count and
    /// answers "vVERSION N". `start` runs before httpd (a slow starter sleeps there).
    static func publishCounter(_ fixture: DeployFixture, _ version: String, start: String = "") throws {
        let source = "\(fixture.root)/src/counter\(version)"
        try FileManager.default.createDirectory(atPath: source + "/www/cgi-bin", withIntermediateDirectories: true)
        try "ok\n".write(toFile: source + "/www/health", atomically: true, encoding: .utf8)
        try "v\(version)\n".write(toFile: source + "/www/index.html", atomically: true, encoding: .utf8)
        let script = source + "/www/cgi-bin/count"
        try """
            #!/bin/sh
            n=$(cat /data/count 2>/dev/null || echo 0)
            n=$((n + 1))
            echo $n > /data/count
            printf 'Content-Type: text/plain\\r\\n\\r\\nv\(version) %s\\n' "$n"

            """.write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        try fixture.baton(["artifact", "publish", "counter:\(version)", source, "--base", "base:1", "--port", "8000",
                           "--health-path", "/health", "--cmd", "/bin/sh -c '\(start)exec /bin/busybox httpd -f -p 8000 -h /www'"])
    }

    static func count(_ port: Int) -> String? {
        HTTPGet.fetch(port: port, host: DeployFixture.host, path: "/cgi-bin/count")?.body
    }

    static func volumes(_ fixture: DeployFixture) throws -> [[String: Any]] {
        let listing = try fixture.baton(["volume", "ls", "--json"])
        return try JSONSerialization.jsonObject(with: Data(listing.stdout.utf8)) as? [[String: Any]] ?? []
    }

    @Test func theCountSurvivesADeployARollbackAndAKillMinusNineOfTheDaemon() throws {
        let fixture = try DeployFixture(appFlags: ["--volume", "data:/data"])
        defer { fixture.finish() }
        try Self.publishCounter(fixture, "1")
        try Self.publishCounter(fixture, "2")
        try fixture.baton(["deploy", "web", "counter:1"])
        #expect(Self.count(fixture.daemon.port) == "v1 1\n")
        #expect(Self.count(fixture.daemon.port) == "v1 2\n")
        try fixture.baton(["deploy", "web", "counter:2"])
        #expect(Self.count(fixture.daemon.port) == "v2 3\n")
        try fixture.baton(["rollback", "web"])
        #expect(Self.count(fixture.daemon.port) == "v1 4\n")

        fixture.daemon.killHard()
        let restarted = try DaemonProcess(root: fixture.root)
        defer { restarted.stop() }
        #expect(Self.count(restarted.port) == "v1 5\n")

        let directory = fixture.root + "/volumes/web/data"
        var info = stat()
        #expect(lstat(directory, &info) == 0)
        #expect(info.st_mode & 0o7777 == 0o700)
        #expect(info.st_uid == 0 && info.st_gid == 0, "an artifact without a numeric User runs as root")
        #expect(try String(contentsOfFile: directory + "/count", encoding: .utf8) == "5\n")
        let listed = try Self.volumes(fixture)
        #expect(listed.count == 1)
        #expect(listed.first?["app"] as? String == "web")
        #expect(listed.first?["name"] as? String == "data")
        #expect(listed.first?["path"] as? String == directory)
        #expect(listed.first?["size"] as? Int == 2)
        #expect(listed.first?["in_use"] as? Bool == true)
        _ = try? fixture.baton(["app", "rm", "web", "--volumes"], allowFailure: true)
    }

    /// `app set --volume` replaces the app's volumes and mounts them by a swap to the same
    /// bytes; `--strategy` is stored for the next deploy and changes nothing serving now.
    @Test func appSetChangesVolumesByASwapAndTheStrategyForTheNextDeploy() throws {
        let fixture = try DeployFixture(appFlags: ["--volume", "data:/data"])
        defer { fixture.finish() }
        try Self.publishCounter(fixture, "1")
        try fixture.baton(["deploy", "web", "counter:1"])
        #expect(Self.count(fixture.daemon.port) == "v1 1\n")
        let serving = try fixture.baton(["app", "inspect", "web", "--json"]).stdout

        try fixture.baton(["app", "set", "web", "--volume", "other:/data"])
        #expect(Self.count(fixture.daemon.port) == "v1 1\n", "a new sandbox counts in the new volume")
        let after = try fixture.baton(["app", "inspect", "web", "--json"]).stdout
        #expect(after.contains("\"other\"") && !after.contains("\"data\""), "\(after)")
        #expect(after != serving)
        #expect(try Self.volumes(fixture).count == 2, "the volume left out stays on disk")

        let stored = try fixture.baton(["app", "set", "web", "--strategy", "stop-first", "--hold-timeout", "12"])
        #expect(stored.stdout.contains("apply from its next deploy"), "\(stored.stdout)")
        let info = try JSONSerialization.jsonObject(with: Data(try fixture.baton(["app", "inspect", "web", "--json"]).stdout.utf8)) as? [String: Any]
        #expect(info?["strategy"] as? String == "stop-first")
        #expect(info?["hold_timeout"] as? Double == 12)
        #expect(Self.count(fixture.daemon.port) == "v1 2\n", "the same sandbox serves")
        _ = try? fixture.baton(["app", "rm", "web", "--volumes"], allowFailure: true)
    }

    /// `app set` with new volumes and a configuration the daemon refuses: one line, and the
    /// volumes stay as they were.
    @Test func appSetThatIsRefusedLeavesTheVolumesAsTheyWere() throws {
        let fixture = try DeployFixture(appFlags: ["--volume", "data:/data"])
        defer { fixture.finish() }
        let before = try fixture.baton(["app", "inspect", "web", "--json"]).stdout
        let refused = try fixture.baton(["app", "set", "web", "--volume", "other:/data", "--env", "PORT=1"], allowFailure: true)
        #expect(refused.status != 0)
        #expect(refused.stderr.split(separator: "\n").count == 1 && refused.stderr.hasPrefix("error: "), "\(refused.stderr)")
        #expect(try fixture.baton(["app", "inspect", "web", "--json"]).stdout == before)
    }

    @Test func aVolumeInUseIsNotRemovedAndAppRmKeepsVolumesUnlessAsked() throws {
        let fixture = try DeployFixture(appFlags: ["--volume", "data:/data"])
        defer { fixture.finish() }
        try Self.publishCounter(fixture, "1")
        try fixture.baton(["deploy", "web", "counter:1"])
        #expect(Self.count(fixture.daemon.port) == "v1 1\n")
        let directory = fixture.root + "/volumes/web/data"

        let refused = try fixture.baton(["volume", "rm", "web", "data"], allowFailure: true)
        #expect(refused.status != 0)
        #expect(refused.stderr.hasPrefix("error: volume web/data is in use by sandbox web-"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1)
        #expect(FileManager.default.fileExists(atPath: directory + "/count"))

        let removed = try fixture.baton(["app", "rm", "web"])
        #expect(removed.stderr.contains("kept the volumes of web (data)"), "\(removed.stderr)")
        #expect(FileManager.default.fileExists(atPath: directory + "/count"))
        #expect(try Self.volumes(fixture).first?["in_use"] as? Bool == false)

        // Made again, the app finds its data.
        try fixture.baton(["app", "create", "web", "--host", DeployFixture.host, "--volume", "data:/data"])
        try fixture.baton(["deploy", "web", "counter:1"])
        #expect(Self.count(fixture.daemon.port) == "v1 2\n")
        try fixture.baton(["app", "rm", "web"])
        try fixture.baton(["volume", "rm", "web", "data"])
        #expect(!FileManager.default.fileExists(atPath: directory))
        #expect(!FileManager.default.fileExists(atPath: fixture.root + "/volumes/web"))
        #expect(try Self.volumes(fixture).isEmpty)
        let missing = try fixture.baton(["volume", "rm", "web", "data"], allowFailure: true)
        #expect(missing.stderr == "error: no volume data of app web: see 'baton volume ls'\n")

        try fixture.baton(["app", "create", "web", "--host", DeployFixture.host, "--volume", "data:/data"])
        try fixture.baton(["deploy", "web", "counter:1"])
        #expect(Self.count(fixture.daemon.port) == "v1 1\n")
        try fixture.baton(["app", "rm", "web", "--volumes"])
        #expect(!FileManager.default.fileExists(atPath: directory))
    }

    @Test func onlyVolumesDeclaredSharedAreShared() throws {
        let fixture = try DeployFixture(appFlags: ["--volume", "shared:cache:/data", "--volume", "own:/own"])
        defer { fixture.finish() }
        try Self.publishCounter(fixture, "1")
        try fixture.baton(["app", "create", "api", "--host", "api.test", "--volume", "shared:cache:/data", "--volume", "own:/own"])
        try fixture.baton(["deploy", "web", "counter:1"])
        try fixture.baton(["deploy", "api", "counter:1"])
        #expect(Self.count(fixture.daemon.port) == "v1 1\n")
        #expect(HTTPGet.fetch(port: fixture.daemon.port, host: "api.test", path: "/cgi-bin/count")?.body == "v1 2\n")
        // Each app's own volume of the same name is its own directory.
        let listed = try Self.volumes(fixture).map { "\($0["app"] as? String ?? "?")/\($0["name"] as? String ?? "?")" }
        #expect(listed.sorted() == ["api/own", "shared/cache", "web/own"])

        try fixture.baton(["app", "rm", "web", "--volumes"])
        #expect(FileManager.default.fileExists(atPath: fixture.root + "/volumes/shared/cache/count"), "shared volumes stay")
        #expect(!FileManager.default.fileExists(atPath: fixture.root + "/volumes/web"))
        let refused = try fixture.baton(["volume", "rm", "shared", "cache"], allowFailure: true)
        #expect(refused.stderr.hasPrefix("error: volume shared/cache is in use by sandbox api-"), "\(refused.stderr)")
        try fixture.baton(["app", "rm", "api", "--volumes"])
        try fixture.baton(["volume", "rm", "shared", "cache"])
        #expect(try Self.volumes(fixture).isEmpty)
    }

    @Test func anApplyFileDeclaresVolumesAndTheStrategy() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        try Self.publishCounter(fixture, "1")
        let file = fixture.root + "/baton.yml"
        try """
            apps:
              web:
                artifact: counter:1
                hosts: [\(DeployFixture.host)]
                volumes: [data:/data]
                strategy: stop-first
                hold: 10

            """.write(toFile: file, atomically: true, encoding: .utf8)
        try fixture.baton(["apply", "-f", file])
        #expect(Self.count(fixture.daemon.port) == "v1 1\n")
        let inspect = try JSONSerialization.jsonObject(with: Data(try fixture.baton(["app", "inspect", "web"]).stdout.utf8)) as? [String: Any]
        #expect(inspect?["strategy"] as? String == "stop-first")
        #expect(inspect?["hold_timeout"] as? Double == 10)
        #expect((inspect?["volumes"] as? [[String: Any]])?.map { $0["name"] as? String } == ["data"])
        let again = try fixture.baton(["apply", "-f", file, "--json"])
        let steps = try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(steps.map { $0["action"] as? String } == ["unchanged"], "\(again.stdout)")
    }

    /// Attacks on the volume flags: a name that climbs out of volumes/, paths over the
    /// sandbox's own mounts, the root, relative or overlapping paths. Each is one `error:`
    /// line, and no app or directory is made.
    @Test func badVolumesAreRefusedWithOneLineAndCreateNothing() throws {
        let fixture = try DeployFixture()
        defer { fixture.finish() }
        let cases: [([String], String)] = [
            (["--volume", "../x:/data"], "error: invalid volume name '../x': use 1-55 lower-case letters"),
            (["--volume", "Data:/data"], "error: invalid volume name 'Data'"),
            (["--volume", "data:relative"], "error: volume path 'relative' must be an absolute path"),
            (["--volume", "data:/"], "error: volume path '/' must be an absolute path"),
            (["--volume", "data:/srv/../etc"], "error: volume path '/srv/../etc' must be an absolute path"),
            (["--volume", "data:/proc"], "error: volume path '/proc' overlaps /proc, which the sandbox mounts itself"),
            (["--volume", "data:/proc/sys/kernel"], "error: volume path '/proc/sys/kernel' overlaps /proc"),
            (["--volume", "data:/sys/fs"], "error: volume path '/sys/fs' overlaps /sys"),
            (["--volume", "data:/dev/shm"], "error: volume path '/dev/shm' overlaps /dev"),
            (["--volume", "data:/tmp"], "error: volume path '/tmp' overlaps /tmp"),
            (["--volume", "a:/data", "--volume", "b:/data"], "error: volume paths '/data' and '/data' overlap"),
            (["--volume", "a:/data", "--volume", "b:/data/sub"], "error: volume paths '/data' and '/data/sub' overlap"),
            (["--volume", "a:/one", "--volume", "a:/two"], "error: volume a is given twice"),
            (["--volume", "data"], "error: invalid --volume 'data': use NAME:/path"),
            (["--volume", "data:/data:rwx"], "error: invalid --volume 'data:/data:rwx'"),
            (["--upstream", "127.0.0.1:9", "--volume", "data:/data"], "error: --upstream apps run outside Baton: --volume"),
            (["--strategy", "stop-last"], "error: The value 'stop-last' is invalid for '--strategy"),
            (["--strategy", "stop-first", "--hold-timeout", "0"], "error: invalid --hold-timeout 0.0"),
            (["--hold-timeout", "5"], "error: --hold-timeout applies to --strategy stop-first"),
        ]
        for (flags, message) in cases {
            let result = try fixture.baton(["app", "create", "other", "--host", "other.test"] + flags, allowFailure: true)
            #expect(result.status != 0, "\(flags)")
            #expect(result.stderr.hasPrefix(message), "\(flags): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(flags): \(result.stderr)")
        }
        let shared = try fixture.baton(["app", "create", "shared", "--host", "s.test", "--volume", "data:/data"], allowFailure: true)
        #expect(shared.stderr.hasPrefix("error: app shared cannot have volumes of its own"), "\(shared.stderr)")
        let apps = try fixture.baton(["app", "ls", "--json"])
        #expect((try JSONSerialization.jsonObject(with: Data(apps.stdout.utf8)) as? [[String: Any]])?.map { $0["name"] as? String } == ["web"])
        #expect(!FileManager.default.fileExists(atPath: fixture.root + "/volumes"))
    }

    /// Attack: a set-id program or a device node written into a volume. The volume is mounted
    /// nosuid and nodev (and read-only when declared `:ro`).
    @Test func anAppVolumeIsMountedNosuidNodevAndReadOnlyWhenAsked() throws {
        let fixture = try DeployFixture(appFlags: ["--volume", "data:/data", "--volume", "conf:/conf:ro"])
        defer { fixture.finish() }
        try Self.publishCounter(fixture, "1")
        try fixture.baton(["deploy", "web", "counter:1"])
        let ps = try fixture.baton(["ps", "--json"])
        let id = try #require((try JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [[String: Any]])?.first?["id"] as? String)
        let mounts = try fixture.baton(["exec", id, "--", "/bin/sh", "-c",
                                        "grep -E ' /(data|conf) ' /proc/self/mountinfo; echo x > /conf/new 2>/dev/null || echo refused"])
        let lines = mounts.stdout.split(separator: "\n")
        let options = { (path: String) -> [Substring] in
            lines.first { $0.split(separator: " ").dropFirst(4).first.map(String.init) == path }?
                .split(separator: " ").dropFirst(5).first?.split(separator: ",") ?? []
        }
        #expect(options("/data").contains("rw") && options("/data").contains("nosuid") && options("/data").contains("nodev"), "\(mounts.stdout)")
        #expect(options("/conf").contains("ro") && options("/conf").contains("nosuid") && options("/conf").contains("nodev"), "\(mounts.stdout)")
        #expect(lines.last == "refused")
    }

    /// Attack: an app plants a symbolic link to a host file in its volume. Listing and
    /// removing the volume never follow it.
    @Test func aLinkPlantedInAVolumeIsRemovedAsALink() throws {
        let fixture = try DeployFixture(appFlags: ["--volume", "data:/data"])
        let target = fixture.root + "-victim"
        try "keep\n".write(toFile: target, atomically: true, encoding: .utf8)
        defer {
            try? FileManager.default.removeItem(atPath: target)
            fixture.finish()
        }
        try Self.publishCounter(fixture, "1")
        try fixture.baton(["deploy", "web", "counter:1"])
        let serving = try fixture.baton(["ps", "--json"])
        let id = try #require((try JSONSerialization.jsonObject(with: Data(serving.stdout.utf8)) as? [[String: Any]])?.first?["id"] as? String)
        try fixture.baton(["exec", id, "--", "/bin/sh", "-c", "mkdir -p /data/a/b && ln -s \(target) /data/a/b/link && ln -s / /data/root"])
        #expect(try Self.volumes(fixture).first?["size"] as? Int == 0)
        try fixture.baton(["app", "rm", "web", "--volumes"])
        #expect(!FileManager.default.fileExists(atPath: fixture.root + "/volumes/web"))
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "keep\n")
    }
}
