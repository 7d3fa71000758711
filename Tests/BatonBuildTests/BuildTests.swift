import BatonTestSupport
import Foundation
import Testing

/// `baton build` end to end: the real `baton` executable, a busybox base artifact, RUN in a
/// real sandbox.
@Suite(.enabled(if: isRoot, "requires root (sandboxes)"))
struct BuildTests {
    static let appBatonfile = """
        FROM base:1
        RUN echo early > /early.txt
        ENV GREETING=hello \\
            TARGET=world
        WORKDIR /app
        COPY site/ ./site/
        COPY --chmod=755 run.sh ./
        COPY overlay/ /
        # Creates a file, deletes one from the base, and replaces a base directory.
        RUN echo "$GREETING $TARGET" > made.txt && rm /etc/gone.txt && \\
            rm -rf /data && mkdir /data && echo new > /data/new.txt
        COPY note.txt /data
        EXPOSE 8080
        LABEL org.baton.health-path=/healthz
        CMD ["/bin/sh", "/app/run.sh"]
        """

    static let runScript = """
        cat /app/made.txt
        test -e /etc/gone.txt && echo gone-present || echo gone-absent
        ls /data
        cat /app/site/index.html
        pwd
        echo "$GREETING"
        cat /usr/lib/extra.txt /lib/base.txt
        cat /data/note.txt
        """

    func prepareApp(_ fixture: BuildFixture) throws {
        try fixture.publishBusyboxBase()
        try fixture.batonfile(Self.appBatonfile)
        try fixture.context("run.sh", Self.runScript)
        try fixture.context("site/index.html", "<h1>v1</h1>\n")
        try fixture.context("overlay/lib/extra.txt", "extra\n")
        try fixture.context("note.txt", "note\n")
    }

    @Test func copyAndRunStepsMakeAnArtifactThatRuns() throws {
        let fixture = BuildFixture()
        defer { fixture.remove() }
        try prepareApp(fixture)
        let built = try fixture.build("app:1")
        #expect(built.status == 0, "\(built.stderr)")
        let digest = built.stdout.lastLine
        #expect(digest.hasPrefix("sha256:") && digest.count == 71, "\(built.stdout)")
        #expect(built.stderr.contains("step 1/12 FROM base:1"), "\(built.stderr)")
        #expect(built.stderr.contains("step 12/12 CMD"), "\(built.stderr)")

        let inspected = try fixture.baton(["artifact", "inspect", "app:1", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(inspected.stdout.utf8)) as? [String: Any])
        #expect(object["digest"] as? String == digest)
        let config = try #require(object["config"] as? [String: Any], "\(inspected.stdout)")
        #expect(config["cmd"] as? [String] == ["/bin/sh", "/app/run.sh"])
        #expect((config["env"] as? [String])?.contains("GREETING=hello") == true, "\(config)")
        #expect(config["working_dir"] as? String == "/app" || config["workdir"] as? String == "/app", "\(config)")
        #expect("\(config)".contains("8080"), "\(config)")
        #expect("\(config)".contains("/healthz"), "\(config)")

        // Each RUN's sandbox and upper directory are gone once its step is done.
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: fixture.root + "/build-work")) ?? ["missing"]).isEmpty)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: fixture.root + "/sandboxes")) ?? []).isEmpty)

        // The RUN's layer says what it deleted as any OCI tool expects: a whiteout for the
        // file, an opaque marker for the directory it replaced.
        let layers = (object["layers"] as? [Any] ?? []).compactMap { ($0 as? [String: Any])?["digest"] as? String ?? $0 as? String }
        let listings = layers.map { shell("tar -tf \(fixture.root)/store/blobs/sha256/\($0.dropFirst(7))").lines }
        let runLayer = listings.first { $0.contains("app/made.txt") } ?? []
        #expect(runLayer.contains("etc/.wh.gone.txt") && runLayer.contains("data/.wh..wh..opq"), "\(listings)")

        let ran = try fixture.baton(["run", "app:1"])
        #expect(ran.status == 0, "\(ran.stderr)")
        #expect(ran.stdout == "hello world\ngone-absent\nnew.txt\nnote.txt\n<h1>v1</h1>\n/app\nhello\nextra\nbase\nnote\n", "\(ran.stdout)")
    }

    @Test func aSecondBuildIsCachedAndAChangedFileRerunsOnlyItsStepAndLater() throws {
        let fixture = BuildFixture()
        defer { fixture.remove() }
        try prepareApp(fixture)
        let first = try fixture.build("app:1")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(!first.stderr.contains("cached"), "\(first.stderr)")

        let second = try fixture.build("app:2")
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.lastLine == first.stdout.lastLine)
        let layerSteps = second.stderr.lines.filter { $0.hasPrefix("step ") && ($0.contains(" COPY ") || $0.contains(" RUN ")) }
        #expect(layerSteps.count == 6, "\(second.stderr)")
        #expect(layerSteps.allSatisfy { $0.hasSuffix(": cached") }, "\(second.stderr)")
        // Nothing ran: no output of a RUN, which is indented under its step.
        #expect(!second.stderr.lines.contains { $0.hasPrefix("  ") }, "\(second.stderr)")

        try fixture.context("site/index.html", "<h1>v2</h1>\n")
        let third = try fixture.build("app:3")
        #expect(third.status == 0, "\(third.stderr)")
        #expect(third.stdout.lastLine != first.stdout.lastLine)
        let lines = third.stderr.lines
        #expect(lines.contains { $0.hasPrefix("step 2/12 RUN echo early") && $0.hasSuffix(": cached") }, "\(third.stderr)")
        #expect(lines.contains { $0.hasPrefix("step 5/12 COPY") && !$0.hasSuffix(": cached") }, "\(third.stderr)")
        #expect(lines.contains { $0.hasPrefix("step 6/12 COPY") && !$0.hasSuffix(": cached") }, "\(third.stderr)")
        #expect(lines.contains { $0.hasPrefix("step 8/12 RUN") && !$0.hasSuffix(": cached") }, "\(third.stderr)")
        let ran = try fixture.baton(["run", "app:3"])
        #expect(ran.stdout.contains("<h1>v2</h1>"), "\(ran.stdout) \(ran.stderr)")
    }

    @Test func aCacheEntryWhoseLayerGCRemovedIsAMissAndTheSameNameRebuildsToTheSameDigest() throws {
        let fixture = BuildFixture()
        defer { fixture.remove() }
        try fixture.publishBusyboxBase()
        try fixture.batonfile("FROM base:1\nRUN echo same > /same.txt\n")
        let first = try fixture.build("gc:1")
        #expect(first.status == 0, "\(first.stderr)")
        let again = try fixture.build("gc:1")
        #expect(again.status == 0 && again.stdout.lastLine == first.stdout.lastLine, "\(again.stderr)")
        #expect(try fixture.baton(["artifact", "rm", "gc:1"]).status == 0)
        #expect(try fixture.baton(["artifact", "gc"]).status == 0)
        let rebuilt = try fixture.build("gc:2")
        #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
        #expect(!rebuilt.stderr.contains(": cached"), "\(rebuilt.stderr)")
        #expect(rebuilt.stdout.lastLine == first.stdout.lastLine, "a RUN whose outputs are identical gives the same digest")
    }

    @Test func copyOnlyBuildsGiveTheSameDigestInTwoFreshRoots() throws {
        let fixture = BuildFixture()
        defer { fixture.remove() }
        try fixture.batonfile("""
            FROM scratch
            COPY app /srv/app/
            COPY --chmod=600 secret.conf /etc/app.conf
            ENV MODE=production
            WORKDIR /srv/app
            EXPOSE 8000
            CMD ["/srv/app/bin/server"]
            """)
        try fixture.context("app/bin/server", "#!/bin/sh\n", mode: 0o755)
        try fixture.context("app/static/b.css", "b\n")
        try fixture.context("app/static/a.css", "a\n")
        try fixture.context("secret.conf", "x=1\n")
        _ = symlink("static/a.css", fixture.context + "/app/main.css")
        let first = try fixture.build("app:1", root: fixture.sub("root-a"))
        // The same files touched again: new mtimes, same bytes.
        try fixture.context("app/static/a.css", "a\n")
        let second = try fixture.build("app:1", root: fixture.sub("root-b"))
        #expect(first.status == 0 && second.status == 0, "\(first.stderr) \(second.stderr)")
        #expect(first.stdout.lastLine == second.stdout.lastLine)
        #expect(first.stdout.lastLine.hasPrefix("sha256:"))
    }

    @Test func badInputGetsOneErrorLineAndNamesNoArtifact() throws {
        let fixture = BuildFixture()
        defer { fixture.remove() }
        try fixture.publishBusyboxBase()
        try fixture.context("ok.txt", "ok\n")
        _ = symlink("/etc/passwd", fixture.context + "/passwd-link")
        _ = symlink("../../../../etc/shadow", fixture.context + "/shadow-link")
        try FileManager.default.createDirectory(atPath: fixture.sub("outside"), withIntermediateDirectories: true)
        try BuildFixture.write(fixture.sub("outside/secret"), "secret\n")
        _ = symlink("../outside", fixture.context + "/outside-dir")

        // A registry on 127.0.0.1 where nothing listens (the port is held, never served).
        let noRegistry = try ReservedPort()
        let cases: [(file: String, error: String)] = [
            ("FROM base:1\nFOO bar\n", "error: \(fixture.context)/Batonfile:2: unknown instruction 'FOO'"),
            ("FROM base:1\nCOPY ../outside/secret /s\n", "'..' would leave the build context"),
            ("FROM base:1\nCOPY passwd-link /p\n", "passwd-link is a symlink to /etc/passwd, outside the build context"),
            ("FROM base:1\nCOPY shadow-link /p\n", "leads outside the build context"),
            ("FROM base:1\nCOPY outside-dir/secret /p\n", "leads outside the build context"),
            ("FROM base:1\nCOPY missing.txt /p\n", "missing.txt is not in the build context"),
            ("FROM nothing:1\nCOPY ok.txt /ok.txt\n", ":1: FROM nothing:1: no artifact named nothing:1"),
            ("FROM 127.0.0.1:\(noRegistry.port)/app:1\n", "error: cannot reach registry 127.0.0.1:\(noRegistry.port) (GET /v2/app/manifests/1): Connection refused"),
            ("FROM base:1\nRUN echo first line; echo boom; exit 3\nRUN echo never\n", ":2: RUN exited with status 3 (last output: first line / boom)"),
            ("FROM base:1\nRUN mkfifo /fifo\n", "a socket, FIFO or device node, which cannot go into a layer"),
        ]
        for (index, testCase) in cases.enumerated() {
            try fixture.batonfile(testCase.file)
            let tag = "bad:\(index)"
            let result = try fixture.build(tag)
            #expect(result.status != 0, "\(testCase.file)")
            let errors = result.stderr.lines.filter { $0.hasPrefix("error:") }
            #expect(errors.count == 1 && result.stderr.lines.last == errors.first, "\(testCase.file): \(result.stderr)")
            #expect(errors.first?.contains(testCase.error) == true, "\(testCase.file): \(result.stderr)")
            #expect(result.stdout.isEmpty, "\(testCase.file): \(result.stdout)")
            #expect(try !fixture.artifactNames().contains(tag))
        }
        // A failing RUN ends the build with the RUN's own status, its output above the error.
        try fixture.batonfile("FROM base:1\nRUN echo boom; exit 3\n")
        let failed = try fixture.build("bad:run")
        #expect(failed.status == 3, "\(failed.stderr)")
        #expect(failed.stderr.lines.contains("  boom"), "\(failed.stderr)")
        // A parse error is the only line: nothing ran before it.
        try fixture.batonfile("FROM base:1\nADD https://example.com/x /x\n")
        let refused = try fixture.build("bad:add")
        #expect(refused.stderr.lines.count == 1 && refused.stderr.hasPrefix("error: \(fixture.context)/Batonfile:2: ADD is not supported"), "\(refused.stderr)")
        // The same name with other bytes is refused, as publish refuses it.
        try fixture.batonfile("FROM base:1\nCOPY ok.txt /ok.txt\n")
        #expect(try fixture.build("fixed:1").status == 0)
        try fixture.context("ok.txt", "changed\n")
        let rebound = try fixture.build("fixed:1")
        #expect(rebound.status != 0 && rebound.stderr.lastLine.contains("already published"), "\(rebound.stderr)")
    }

    @Test func aMistakeFoundBeforeTheFirstStepChangesNothingUnderTheRoot() throws {
        let fixture = BuildFixture()
        defer { fixture.remove() }
        try fixture.publishBusyboxBase()
        let noRegistry = try ReservedPort()
        let before = BuildFixture.snapshot(fixture.root)
        for file in [
            "FROM base:1\nEXPOSE 99999\n",
            "FROM host\nCOPY a b\nUSER nobody\n",
            "FROM scratch\nCOPY ../x /x\n",
            "FROM nothing:1\n",
            "FROM 127.0.0.1:\(noRegistry.port)/app:1\n",
            "FROM base:1\nSHELL [\"/bin/bash\", \"-c\"]\n",
        ] {
            try fixture.batonfile(file)
            let result = try fixture.build("nothing:1")
            #expect(result.status != 0 && result.stderr.lines.count == 1 && result.stderr.hasPrefix("error: "), "\(file): \(result.stderr)")
            #expect(BuildFixture.snapshot(fixture.root) == before, "\(file) changed the root")
        }
    }

    /// A RUN that would go on for a minute, or take more memory than allowed, fails the build
    /// with one line saying which limit, and names nothing.
    @Test func runLimitsStopARunawayStep() throws {
        let fixture = BuildFixture()
        defer { fixture.remove() }
        try fixture.publishBusyboxBase()
        try fixture.batonfile("FROM base:1\nRUN echo started; /bin/busybox sleep 60; echo finished\n")
        let slow = try fixture.build("slow:1", extra: ["--timeout", "1"])
        #expect(slow.status != 0)
        #expect(slow.stderr.lastLine.hasPrefix("error: ") && slow.stderr.lastLine.contains("RUN ran past --timeout 1.0 s and was killed (last output: started)"),
                "\(slow.stderr)")
        #expect(!slow.stderr.lines.contains("  finished"), "the step was stopped, not waited for")
        try fixture.batonfile("FROM base:1\nRUN /bin/busybox dd if=/dev/zero of=/dev/null bs=64M count=1\n")
        let hungry = try fixture.build("hungry:1", extra: ["--memory", "16m"])
        #expect(hungry.status != 0)
        #expect(hungry.stderr.lastLine.contains("RUN ran out of memory (--memory 16777216 bytes)"), "\(hungry.stderr)")
        #expect(try !fixture.artifactNames().contains("slow:1") && !fixture.artifactNames().contains("hungry:1"))
        // Without the limit the same step builds.
        #expect(try fixture.build("hungry:1").status == 0)
    }

    @Test func aRunThatTriesToLeaveTheSandboxIsContained() throws {
        let fixture = BuildFixture()
        defer { fixture.remove() }
        try fixture.publishBusyboxBase()
        let corePattern = try String(contentsOfFile: "/proc/sys/kernel/core_pattern", encoding: .utf8)
        let hostMarker = "/tmp/baton-build-escape-\(UInt32.random(in: 0...UInt32.max))"
        try fixture.batonfile("""
            FROM base:1
            RUN (mknod /dev-null-copy c 1 3 2>/dev/null && echo mknod-made || echo mknod-refused) > /r.txt; \\
                (echo '|/bin/sh -c touch\\ \(hostMarker)' > /proc/sys/kernel/core_pattern 2>/dev/null && echo proc-written || echo proc-refused) >> /r.txt; \\
                (mount -t tmpfs t /mnt 2>/dev/null && echo mounted || echo mount-refused) >> /r.txt; \\
                (echo x > /sys/kernel/uevent_helper 2>/dev/null && echo sys-written || echo sys-refused) >> /r.txt
            CMD ["/bin/cat", "/r.txt"]
            """)
        let built = try fixture.build("escape:1")
        #expect(built.status == 0, "\(built.stderr)")
        let ran = try fixture.baton(["run", "escape:1"])
        #expect(ran.stdout == "mknod-refused\nproc-refused\nmount-refused\nsys-refused\n", "\(ran.stdout) \(ran.stderr)")
        #expect(try String(contentsOfFile: "/proc/sys/kernel/core_pattern", encoding: .utf8) == corePattern)
        #expect(!FileManager.default.fileExists(atPath: hostMarker))
    }

    /// docs/build.md's example, as written: the python counter app FROM host.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"), "needs the host's python3"))
    func thePythonCounterExampleBuildsAndItsPythonRuns() throws {
        let fixture = BuildFixture()
        defer { fixture.remove() }
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/python-counter").path
        let built = try fixture.baton(["build", "-f", example + "/Batonfile", "counter:1", example])
        #expect(built.status == 0, "\(built.stderr)")
        let ran = try fixture.baton(["run", "counter:1", "--", "/usr/bin/python3", "-c", "print(open('VERSION').read().strip())"])
        #expect(ran.stdout == "v1\n", "\(ran.stdout) \(ran.stderr)")
        let inspected = try fixture.baton(["artifact", "inspect", "counter:1"])
        #expect(inspected.stdout.contains("health path:   /health") && inspected.stdout.contains("ports:         8000"), "\(inspected.stdout)")
    }

    @Test func fromHostRunCannotWriteTheHostsDirectories() throws {
        let fixture = BuildFixture()
        defer { fixture.remove() }
        let probe = "/usr/local/baton-build-probe-\(UInt32.random(in: 0...UInt32.max))"
        try fixture.context("app.txt", "app\n")
        try fixture.batonfile("""
            FROM host
            COPY app.txt /app/
            RUN cat /app/app.txt > /app/copy.txt && (touch \(probe) 2>/dev/null && echo wrote-usr || echo usr-read-only) >> /app/copy.txt
            CMD ["/bin/cat", "/app/copy.txt"]
            """)
        let built = try fixture.build("hosted:1")
        #expect(built.status == 0, "\(built.stderr)")
        let ran = try fixture.baton(["run", "hosted:1"])
        #expect(ran.stdout == "app\nusr-read-only\n", "\(ran.stdout) \(ran.stderr)")
        #expect(!FileManager.default.fileExists(atPath: probe))
        // COPY into a host directory would be hidden by it at run time: refused.
        try fixture.batonfile("FROM host\nCOPY app.txt /usr/local/bin/\n")
        let refused = try fixture.build("hosted:2")
        #expect(refused.status != 0 && refused.stderr.lastLine.contains("/usr is the host's own directory"), "\(refused.stderr)")
    }
}
